"""Bundles: config.json checked field by field before anything is allocated; the description field."""

import json

import pytest

from glcic import bundle as bundle_module
from glcic.atomic import DiskFullError
from glcic.bundle import BundleInfo, load_bundle, read_bundle_info, save_bundle
from glcic.config import ModelConfig
from glcic.errors import BundleError
from glcic.models import CompletionNetwork
from tests.test_atomic import fill_disk_after


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A valid tiny bundle, and its config.json as a dict."""
    net = CompletionNetwork(ModelConfig(width=0.125, dilations=[1, 2, 4, 8]))
    info = BundleInfo(model=net.cfg, resolution=32, mean_pixel=[0.5, 0.4, 0.3], name="tiny",
                      description="Completes holes in tiny test images.")
    folder = save_bundle(tmp_path_factory.mktemp("bundle"), net, info)
    return folder, json.loads((folder / "config.json").read_text())


def _with(good, tmp_path, **changes):
    """A copy of the good bundle whose config.json has ``changes`` (a value of ... deletes the key)."""
    folder, raw = good
    raw = json.loads(json.dumps(raw))
    for key, value in changes.items():
        section, _, field = key.partition("__")
        target = raw[section] if field else raw
        name = field or section
        if value is ...:
            del target[name]
        else:
            target[name] = value
    (tmp_path / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes())
    (tmp_path / "config.json").write_text(json.dumps(raw))
    return tmp_path


def test_the_description_is_written_and_read_back(good):
    folder, raw = good
    assert raw["description"] == "Completes holes in tiny test images."
    _, info = load_bundle(folder)
    assert info.description == "Completes holes in tiny test images." and "description" not in info.extra


def test_a_bundle_without_a_description_reads_as_empty(good, tmp_path):
    assert read_bundle_info(_with(good, tmp_path, description=...)).description == ""


@pytest.mark.parametrize(("name", "subject"), [("faces", "face"), ("scenes", "photograph")])
def test_each_shipped_model_says_what_it_is_for(name, subject):
    if name not in bundle_module.installed_models():
        pytest.skip(f"{name} is not installed")
    info = read_bundle_info(bundle_module.WEIGHTS_DIR / name)
    assert subject in info.description and str(info.resolution) in info.description


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": "1"}, r"version must be a whole number >= 1 \(this glcic writes 1\); got '1'"),
        ({"version": True}, r"version must be a whole number >= 1 .*; got True"),
        ({"version": ...}, r"version must be a whole number >= 1 .*; got None"),
        ({"version": 2}, r"it is bundle version 2; this glcic reads up to 1: upgrade glcic"),
        ({"format": "other"}, r"it does not say format='glcic-bundle'"),
        ({"model__dilations": [0, 0, 0, 0]}, r"model.dilations must be four integers >= 1; got \[0, 0, 0, 0\]"),
        ({"model__dilations": [1, 2, 4, 1000000]}, r"model.dilations must be at most the resolution \(32\)"),
        ({"model__width": 40}, r"model.width must be a number in \(0, 4\] .*; got 40.0"),
        ({"model__disc_width": 40}, r"model.disc_width must be a number in \(0, 4\]"),
        ({"model__width": "nan"}, r"model.width must be a number in \(0, 4\] .*; got nan"),
        ({"model__width": -1}, r"model.width and model.disc_width must be > 0"),
        ({"model__output": "bogus"}, r"model.output must be one of sigmoid, tanh; got 'bogus'"),
        ({"model__norm": "layer"}, r"model.norm must be one of"),
        ({"model__prefill": "zeros"}, r"model.prefill must be one of"),
        ({"model__attributes": -3}, r"model.attributes must be >= 0"),
        ({"model__colour": 1}, r"unknown config key\(s\) model.colour"),
        ({"model": ...}, r"model missing"),
        ({"resolution": -64}, r"resolution \(the training data.size\) must be a multiple of 4 from 16 to 4096; got -64"),
        ({"resolution": "64"}, r"resolution .* must be a multiple of 4 .*; got '64'"),
        ({"resolution": 30}, r"resolution .*; got 30"),
        ({"resolution": 100000}, r"resolution .*; got 100000"),
        ({"mean_pixel": "nan"}, r"mean_pixel must be 3 numbers in \[0, 1\] \(the mean RGB\); got 'nan'"),
        ({"mean_pixel": [0.5, float("nan"), 0.5]}, r"mean_pixel must be 3 numbers in \[0, 1\]"),
        ({"mean_pixel": [0.5, 0.5]}, r"mean_pixel must be 3 numbers"),
        ({"mean_pixel": [0.5, 2, 0.5]}, r"mean_pixel must be 3 numbers"),
        ({"mean_pixel": [0.5, "0.5", 0.5]}, r"mean_pixel must be 3 numbers"),
        ({"value_range": [-1.0, 1.0]}, r"value_range \[-1.0, 1.0\] does not match model.output='sigmoid'"),
        ({"name": 5}, r"name must be text; got 5"),
        ({"description": ["a", "b"]}, r"description must be text"),
        ({"step": -1}, r"step must be a whole number >= 0"),
        ({"train_config": "x"}, r"train_config must be a mapping"),
    ],
)
def test_each_bad_field_is_refused_by_name_before_the_network_is_built(good, tmp_path, monkeypatch, changes, message):
    path = _with(good, tmp_path, **changes)

    def never(*args, **kwargs):
        raise AssertionError("the network was built from an invalid config.json")

    monkeypatch.setattr(bundle_module, "CompletionNetwork", never)
    with pytest.raises(BundleError, match=r"config.json is invalid: " + message):
        load_bundle(path)


def test_deeply_nested_json_is_a_bundle_error(good, tmp_path):
    path = _with(good, tmp_path)
    (path / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BundleError, match="is not valid JSON"):
        read_bundle_info(path)


def test_a_full_disk_leaves_no_partial_bundle_file(good, tmp_path, monkeypatch):
    net = CompletionNetwork(ModelConfig(width=0.125, dilations=[1, 2, 4, 8]))
    fill_disk_after(monkeypatch, 1000)
    with pytest.raises(DiskFullError, match="model.safetensors: the disk is full"):
        save_bundle(tmp_path, net, BundleInfo(model=net.cfg, resolution=32, mean_pixel=[0.5] * 3))
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- shipped names


def test_default_names_the_default_target_and_each_shipped_name_its_folder():
    from glcic.options import DEFAULT_MODEL_TARGET, SHIPPED_MODELS

    assert bundle_module.resolve_bundle_path("default") == bundle_module.WEIGHTS_DIR / DEFAULT_MODEL_TARGET
    assert bundle_module.resolve_bundle_path(None) == bundle_module.DEFAULT_BUNDLE
    for name in SHIPPED_MODELS:
        assert bundle_module.shipped_name(name) == name
    assert bundle_module.shipped_name("./faces") is None  # a path, not the name


def test_a_missing_shipped_model_is_named_with_the_way_out(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_module, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(BundleError, match=r"the shipped model 'scenes' is missing from .*reinstall glcic.*faces"):
        load_bundle("scenes")


def test_a_folder_that_is_not_a_name_is_read_as_a_bundle(good, tmp_path, monkeypatch):
    folder, _ = good
    monkeypatch.chdir(folder.parent)
    assert bundle_module.resolve_bundle_path(folder.name) == folder.resolve().relative_to(folder.parent.resolve())
    with pytest.raises(BundleError, match=r"model path nowhere does not exist; .*shipped model's name \(default, faces, scenes\)"):
        load_bundle("nowhere")


# --------------------------------------------------------------------------- model.upsample (issue 25)


def _upsample_net(upsample: str) -> CompletionNetwork:
    """A tiny network whose batch-norm statistics are not the defaults (eval outputs depend on them)."""
    import torch

    torch.manual_seed(0)
    net = CompletionNetwork(ModelConfig(width=0.125, skip=True, dilations=[1, 2, 4, 8], upsample=upsample))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net.eval()


def test_a_resize_bundle_round_trips(tmp_path):
    import torch

    net = _upsample_net("resize")
    folder = save_bundle(tmp_path, net, BundleInfo(model=net.cfg, resolution=32, mean_pixel=[0.5] * 3))
    assert json.loads((folder / "config.json").read_text())["model"]["upsample"] == "resize"
    loaded, info = load_bundle(folder)
    assert info.model.upsample == "resize" and info.model == net.cfg
    assert isinstance(loaded.layers[12][0], torch.nn.Upsample) and isinstance(loaded.layers[14][0], torch.nn.Upsample)
    x, m = torch.rand(2, 3, 32, 32), torch.zeros(2, 1, 32, 32)
    m[..., 8:20, 8:24] = 1
    with torch.no_grad():
        assert torch.equal(loaded(x, m), net(x, m))


def test_a_bundle_from_before_the_option_loads_as_deconv(good, tmp_path):
    """config.json files written before model.upsample existed have no such key: the paper's deconvolutions."""
    import torch

    path = _with(good, tmp_path, model__upsample=..., model__discriminator=...)
    assert "upsample" not in json.loads((path / "config.json").read_text())["model"]
    net, info = load_bundle(path)
    assert info.model.upsample == "deconv" and info.model.discriminator == "context"
    assert isinstance(net.layers[12][0], torch.nn.ConvTranspose2d)


def test_weights_of_the_other_upsampling_are_refused_as_a_mismatch(good, tmp_path):
    """A deconv bundle's weights under a config.json that says resize: the layout check names the file."""
    path = _with(good, tmp_path, model__upsample="resize")
    with pytest.raises(BundleError, match=r"model.safetensors does not match the architecture in config.json"):
        load_bundle(path)


@pytest.mark.parametrize(("changes", "message"), [
    ({"model__upsample": "pixelshuffle"}, r"model.upsample must be one of deconv, resize; got 'pixelshuffle'"),
    ({"model__discriminator": "multiscale"}, r"model.discriminator must be one of context, patch; got 'multiscale'"),
])
def test_an_unknown_upsampling_or_discriminator_is_refused_by_name(good, tmp_path, changes, message):
    with pytest.raises(BundleError, match=r"config.json is invalid: " + message):
        load_bundle(_with(good, tmp_path, **changes))


def test_a_resize_network_exports_to_onnx_with_parity(tmp_path):
    """nn.Upsample becomes ONNX's Resize: dynamic sizes still work and match torch."""
    pytest.importorskip("onnxruntime")
    from glcic.onnx_export import check_onnx, export_onnx

    net = _upsample_net("resize")
    path = export_onnx(net, tmp_path / "r.onnx")
    assert check_onnx(net, path, sizes=[(32, 32), (36, 20), (64, 48)]) < 1e-4
