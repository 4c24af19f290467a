"""Reading images and masks robustly, writing results atomically.

Everything a user hands to glcic passes through here: files (any path, bytes
or binary file object), PIL images and ``uint8`` arrays. What comes out is
always the same:

- an image: RGB ``uint8`` ``(H, W, 3)`` plus, when the source had one, its alpha
  channel ``uint8`` ``(H, W)`` (:class:`LoadedImage`), upright (EXIF orientation
  applied), whatever mode it was stored in;
- a mask: ``bool`` ``(H, W)``, **True = hole** (white / non-zero in the file).

Every problem is an :class:`~glcic.errors.InputError` that names the file, says
what was expected and how to fix it: a missing file, a folder, an empty or
truncated file, something that is not an image, an image over the pixel limit
(checked from the header, before decoding; an
:class:`~glcic.errors.ImageTooLargeError`), a mask of the wrong size.

Modules, in the order data flows through them:

- :mod:`glcic.io.files`: folders of images (the one extension list) and opening a source;
- :mod:`glcic.io.images`: decoding an image, the pixel limit;
- :mod:`glcic.io.modes`: every PIL mode (16-bit, float, palette, CMYK...) as 8-bit RGB;
- :mod:`glcic.io.masks`: decoding a mask, the hole rules, size checks and resizing;
- :mod:`glcic.io.save`: writing results.
"""

from glcic.io.files import READ_EXTENSIONS, READABLE, list_images, warn_unreadable
from glcic.io.images import (
    DECODE_ERRORS,
    ImageSource,
    LoadedImage,
    check_uint8,
    load_image,
    read_rgb,
)
from glcic.io.masks import load_mask, mask_from_array, read_mask
from glcic.io.modes import GRAY_MODES, gray_to_unit, pil_to_rgb
from glcic.io.save import SAVE_FORMATS, check_save_path, save_image
from glcic.options import DEFAULT_MAX_PIXELS

__all__ = [
    "DECODE_ERRORS",
    "DEFAULT_MAX_PIXELS",
    "GRAY_MODES",
    "READABLE",
    "READ_EXTENSIONS",
    "SAVE_FORMATS",
    "ImageSource",
    "LoadedImage",
    "check_save_path",
    "check_uint8",
    "gray_to_unit",
    "list_images",
    "load_image",
    "load_mask",
    "mask_from_array",
    "pil_to_rgb",
    "read_mask",
    "read_rgb",
    "save_image",
    "warn_unreadable",
]
