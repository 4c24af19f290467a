"""torch.hub entry point: ``torch.hub.load(repo_dir, "glcic", source="local")``.

Works offline: the weights ship inside the package (``glcic/weights/faces``, ``glcic/weights/scenes``) or
come from a bundle folder you pass as ``path``; nothing is downloaded.
"""

dependencies = ["torch"]

from glcic.pipeline import InpaintPipeline as _InpaintPipeline  # noqa: E402


def glcic(pretrained: bool = True, path: str = "default", **kwargs) -> _InpaintPipeline:
    """The image completion pipeline of Iizuka et al. (2017).

    Args:
        pretrained: load the bundle's weights. False gives the same architecture with
            random weights (read from ``path``'s config.json; the paper's network when
            ``path`` names a shipped model that is absent).
        path: a shipped model's name ("faces", "scenes", "default") or a bundle folder
            written by ``glcic export``.
        **kwargs: passed to :meth:`glcic.pipeline.InpaintPipeline.from_pretrained`
            (``device``, ``precision``, ``backend``).

    Returns:
        An :class:`~glcic.pipeline.InpaintPipeline`; call it as ``pipe(image, mask)``
        with mask non-zero = hole.
    """
    if pretrained:
        return _InpaintPipeline.from_pretrained(path, **kwargs)

    from glcic.bundle import BundleInfo, read_bundle_info, shipped_name
    from glcic.config import DataConfig, ModelConfig
    from glcic.errors import BundleError
    from glcic.models.completion import CompletionNetwork

    try:
        info = read_bundle_info(path)
    except BundleError:
        if shipped_name(path) is None:
            raise
        info = BundleInfo(model=ModelConfig(), resolution=DataConfig().size, mean_pixel=[0.5, 0.5, 0.5], name="glcic-untrained")
    return _InpaintPipeline(CompletionNetwork(info.model), info, **kwargs)
