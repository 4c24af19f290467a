"""Reading images and masks robustly, writing results atomically.

Everything a user hands to glcic passes through here: files (any path, bytes
or binary file object), PIL images and ``uint8`` arrays. What comes out is
always the same:

- an image: RGB ``uint8`` ``(H, W, 3)`` plus, when the source had one, its alpha
  channel ``uint8`` ``(H, W)`` (:class:`LoadedImage`), upright (EXIF orientation
  applied), whatever mode it was stored in; all 16 bits of a 16-bit source beside
  them (``.deep``), and what the file said besides pixels (``.info``, a :class:`SourceInfo`);
- a mask: ``bool`` ``(H, W)``, **True = hole** (white / non-zero in the file; the
  alpha where a mask has transparent pixels: :data:`MASK_RULE`).

What goes out (:func:`save_image`, :func:`encode_image`) is written the way its input
came: the same ICC profile, EXIF and XMP, JPEG tables, lossy or lossless WebP, 16 bits
(:data:`ENCODING_RULE`).

Every problem is an :class:`~glcic.errors.InputError` that names the file, says
what was expected and how to fix it: a missing file, a folder, an empty or
truncated file, something that is not an image, an image over the pixel limit
(checked from the header, before decoding; an
:class:`~glcic.errors.ImageTooLargeError`), a mask of the wrong size.

Modules, in the order data flows through them:

- :mod:`glcic.io.files`: folders of images (the one extension list) and opening a source;
- :mod:`glcic.io.images`: decoding an image, the pixel limit;
- :mod:`glcic.io.modes`: every PIL mode (16-bit, float, palette, CMYK...) as 8-bit RGB;
- :mod:`glcic.io.depth`: 16-bit colour, which PIL cannot hold, read and written (OpenCV, tifffile);
- :mod:`glcic.io.metadata`: ICC profile, EXIF, XMP and encoding facts, read once (:class:`SourceInfo`);
- :mod:`glcic.io.masks`: decoding a mask, the hole rules, size checks and resizing;
- :mod:`glcic.io.save`: writing and encoding results.
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
from glcic.io.masks import MASK_RULE, load_mask, mask_from_array, mask_size_error, read_mask
from glcic.io.metadata import SourceInfo, attach_info
from glcic.io.modes import GRAY_MODES, gray_to_unit, pil_to_rgb
from glcic.io.save import (
    ENCODING_RULE,
    FORMAT_SUFFIX,
    NO_ALPHA_FORMATS,
    SAVE_FORMATS,
    check_quality,
    check_save_path,
    encode_image,
    resolve_format,
    save_image,
)
from glcic.options import DEFAULT_MAX_PIXELS

__all__ = [
    "DECODE_ERRORS",
    "DEFAULT_MAX_PIXELS",
    "ENCODING_RULE",
    "FORMAT_SUFFIX",
    "GRAY_MODES",
    "MASK_RULE",
    "NO_ALPHA_FORMATS",
    "READABLE",
    "READ_EXTENSIONS",
    "SAVE_FORMATS",
    "ImageSource",
    "LoadedImage",
    "SourceInfo",
    "attach_info",
    "check_quality",
    "check_save_path",
    "check_uint8",
    "encode_image",
    "gray_to_unit",
    "list_images",
    "load_image",
    "load_mask",
    "mask_from_array",
    "mask_size_error",
    "pil_to_rgb",
    "read_mask",
    "read_rgb",
    "resolve_format",
    "save_image",
    "warn_unreadable",
]
