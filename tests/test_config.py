import pytest

from glcic.config import Config, ConfigError, TrainConfig, load_config


def test_defaults_validate():
    Config().validate()


def test_overrides_are_typed():
    cfg = load_config("report", ["train.batch_size=8", "model.dilations=[1,2,4,8]", "data.hflip=false"])
    assert cfg.train.batch_size == 8 and cfg.model.dilations == [1, 2, 4, 8] and cfg.data.hflip is False
    assert cfg.model.output == "tanh" and cfg.train.real_label == 0.75  # the report's options


def test_round_trip_through_dict():
    cfg = load_config("face64")
    assert Config.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    "override,message",
    [
        ("train.batch_size=abc", r"train.batch_size expects int; got 'abc'"),
        ("train.bogus=1", r"unknown config key\(s\) train.bogus"),
        ("model.output=relu", r"model.output must be one of sigmoid, tanh; got 'relu'"),
        ("mask.hole_max=92", r"holes up to 92 px do not fit inside the 80 px local patch"),
        ("data.size=150", r"data.size must be a multiple of 4"),
        ("nodot=3", r"must be section.key"),
        ("train.batch_size", r"must look like section.key=value"),
    ],
)
def test_bad_values_are_refused_with_a_fix(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config("report", [override])


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown preset 'nope'; presets: .*report"):
        load_config("nope")


def test_yaml_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  batch_size: 5\n")
    assert load_config(str(p)).train.batch_size == 5
    p.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(p))


def test_config_choices_are_the_options_module_s():
    from glcic import options

    assert Config().data.root == options.DEFAULT_DATA_ROOT
    for override, allowed in (("train.precision", options.PRECISIONS), ("train.optimizer", options.OPTIMIZERS),
                              ("mask.kind", options.TRAIN_MASK_KINDS), ("data.format", options.DATA_FORMATS),
                              ("model.norm", options.NORMS)):
        for value in allowed:
            if (override, value) != ("mask.kind", "folder"):  # that one also needs mask.folder
                load_config("report", [f"{override}={value}"])
        with pytest.raises(ConfigError, match=f"{override} must be one of {', '.join(allowed)}; got 'x'"):
            load_config("report", [f"{override}=x"])


def test_a_negative_style_weight_is_refused():
    with pytest.raises(ConfigError, match=r"train.style_weight must be >= 0 .*got -0.5"):
        Config(train=TrainConfig(style_weight=-0.5)).validate()


def test_a_negative_l1_weight_is_refused():
    with pytest.raises(ConfigError, match=r"train.l1_weight must be >= 0 .*got -1"):
        Config(train=TrainConfig(l1_weight=-1.0)).validate()


def test_no_val_images_is_refused_with_what_they_are_for():
    with pytest.raises(ConfigError, match=r"train.val_images must be >= 1 \(the fixed val batch"):
        Config(train=TrainConfig(val_images=0)).validate()


def test_an_unknown_hole_weighting_is_refused():
    with pytest.raises(ConfigError, match=r"train.hole_weighting.*pixel.*image"):
        Config(train=TrainConfig(hole_weighting="area")).validate()


# --------------------------------------------------------------------------- sharp-fill options (issue 25)


def test_sharp_fill_options_default_to_the_paper():
    cfg = Config()
    assert (cfg.model.upsample, cfg.model.discriminator) == ("deconv", "context")
    assert (cfg.train.gan_loss, cfg.train.fm_weight) == ("bce", 0.0)


@pytest.mark.parametrize(
    ("key", "allowed"),
    [("model.upsample", "deconv, resize"), ("model.discriminator", "context, patch"), ("train.gan_loss", "bce, hinge")],
)
def test_sharp_fill_choices_load_and_unknown_ones_are_refused_naming_the_allowed(key, allowed):
    for value in allowed.split(", "):
        cfg = load_config("paper", [f"{key}={value}"])
        section, field = key.split(".")
        assert getattr(getattr(cfg, section), field) == value
    with pytest.raises(ConfigError, match=rf"{key} must be one of {allowed}; got 'pixelshuffle'"):
        load_config("paper", [f"{key}=pixelshuffle"])


def test_sharp_fill_options_survive_the_dict_round_trip():
    """What a checkpoint and a bundle store: the resolved config as a plain dict."""
    cfg = load_config("paper", ["model.upsample=resize", "model.discriminator=patch", "train.gan_loss=hinge",
                                "train.fm_weight=2.5"])
    assert Config.from_dict(cfg.to_dict()) == cfg
    assert cfg.train.fm_weight == 2.5


@pytest.mark.parametrize("weight", [-0.5, float("nan")])
def test_a_negative_or_nan_fm_weight_is_refused(weight):
    with pytest.raises(ConfigError, match=r"train.fm_weight must be >= 0 \(0 = no feature matching\); got"):
        Config(train=TrainConfig(fm_weight=weight)).validate()
    with pytest.raises(ConfigError, match=r"train.fm_weight must be >= 0"):
        load_config("paper", [f"train.fm_weight={weight}"])


def test_the_patch_discriminator_with_attributes_is_refused_with_the_two_fixes():
    """The attribute head sits on the context discriminator's 2048 joint features; the patch one has none."""
    with pytest.raises(ConfigError, match=r"model.attributes=40 needs the context discriminator.*"
                                          r"model.discriminator=context or model.attributes=0"):
        load_config("report", ["model.discriminator=patch"])  # the report's preset has 40 attributes
    assert load_config("report", ["model.discriminator=patch", "model.attributes=0"]).model.discriminator == "patch"
    assert load_config("paper", ["model.discriminator=patch"]).model.attributes == 0


def test_spectral_norm_off_is_for_the_patch_discriminator_only():
    assert not load_config("paper", ["model.discriminator=patch", "model.spectral_norm=false"]).model.spectral_norm
    with pytest.raises(ConfigError, match=r"model.spectral_norm=false applies to the patch discriminator only.*"
                                          r"set model.discriminator=patch"):
        load_config("paper", ["model.spectral_norm=false"])


def test_patch_scale_is_for_the_patch_discriminator_and_divides_the_image():
    assert load_config("paper", ["model.discriminator=patch", "model.patch_scale=2"]).model.patch_scale == 2
    with pytest.raises(ConfigError, match=r"model.patch_scale=2 applies to the patch discriminator only"):
        load_config("paper", ["model.patch_scale=2"])
    with pytest.raises(ConfigError, match=r"model.patch_scale=3 must divide data.size=\d+"):
        load_config("paper", ["model.discriminator=patch", "model.patch_scale=3"])
    with pytest.raises(ConfigError, match=r"model.patch_scale must be an integer >= 1"):
        load_config("paper", ["model.discriminator=patch", "model.patch_scale=0"])


def test_keep_thin_needs_a_residual_network_and_a_whole_number():
    cfg = load_config("paper", ["model.residual=true", "model.prefill=biharmonic", "model.keep_thin=1"])
    assert cfg.model.keep_thin == 1 and load_config("paper").model.keep_thin == 0
    with pytest.raises(ConfigError, match=r"model.keep_thin=1 keeps the pre-fill in the hole.s thin parts, which only a residual network has: set model.residual=true"):
        load_config("paper", ["model.keep_thin=1"])
    with pytest.raises(ConfigError, match=r"model.keep_thin must be an integer >= 0 .*got -1"):
        load_config("paper", ["model.residual=true", "model.keep_thin=-1"])


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "true"])
def test_d_steps_must_be_a_whole_number_of_at_least_one(value):
    assert load_config("paper", ["train.d_steps=3"]).train.d_steps == 3
    with pytest.raises(ConfigError, match=r"train.d_steps (must be an integer >= 1 \(1 = Algorithm 1\)|expects int); got"):
        load_config("paper", [f"train.d_steps={value}"])


@pytest.mark.parametrize("value", ["-1", "1.5", "true"])
def test_adv_depth_must_be_a_whole_number_of_pixels(value):
    assert load_config("paper", ["train.adv_depth=6"]).train.adv_depth == 6
    assert load_config("paper").train.adv_depth == 0  # the paper: every hole pixel alike
    with pytest.raises(ConfigError, match=r"train.adv_depth (must be an integer >= 0 \(pixels|expects int)"):
        load_config("paper", [f"train.adv_depth={value}"])


def test_r1_weight_needs_the_patch_discriminator():
    cfg = load_config("paper", ["model.discriminator=patch", "train.gan_loss=hinge", "train.r1_weight=0.001"])
    assert cfg.train.r1_weight == 0.001
    with pytest.raises(ConfigError, match="r1_weight=0.001 needs the discriminator's second derivative"):
        load_config("paper", ["train.r1_weight=0.001"])
    with pytest.raises(ConfigError, match="r1_weight must be >= 0"):
        load_config("paper", ["model.discriminator=patch", "train.r1_weight=-1"])
