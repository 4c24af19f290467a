"""glcic: Globally and Locally Consistent Image Completion.

Mask convention, everywhere in this package: **1 / white / non-zero = hole**,
0 / black = known pixel. Images are RGB; OpenCV's BGR appears only inside the
functions that call OpenCV.
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["InpaintPipeline", "InpaintResult", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from glcic.pipeline import InpaintPipeline
    from glcic.steps import InpaintResult


def __getattr__(name: str) -> Any:
    # Imported lazily so that `import glcic` stays cheap for the CLI's --help.
    if name == "InpaintPipeline":
        from glcic.pipeline import InpaintPipeline

        return InpaintPipeline
    if name == "InpaintResult":
        from glcic.steps import InpaintResult

        return InpaintResult
    raise AttributeError(f"module 'glcic' has no attribute {name!r}")
