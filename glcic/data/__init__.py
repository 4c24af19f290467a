"""Data: image files, CelebA, datasets and training masks.

Mask convention: **1 / white / non-zero = hole**, 0 = known pixel (see
:mod:`glcic.data.masks`).
"""

from glcic.convert import to_tensor, to_uint8
from glcic.data.celeba import CelebAIndex, is_celeba_root
from glcic.data.datasets import (
    ImageDataset,
    build_datasets,
    center_crop_square,
    compute_mean_pixel,
    preprocess,
)
from glcic.data.images import IMAGE_EXTENSIONS, list_images, read_rgb
from glcic.data.masks import (
    FolderMaskSource,
    FreeFormMaskGenerator,
    MaskGenerator,
    RectMaskGenerator,
    build_mask_generator,
    crop_windows,
    random_window,
    read_mask,
    resize_mask,
    sample_batch,
    window_around,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "CelebAIndex",
    "FolderMaskSource",
    "FreeFormMaskGenerator",
    "ImageDataset",
    "MaskGenerator",
    "RectMaskGenerator",
    "build_datasets",
    "build_mask_generator",
    "center_crop_square",
    "compute_mean_pixel",
    "crop_windows",
    "is_celeba_root",
    "list_images",
    "preprocess",
    "random_window",
    "read_mask",
    "read_rgb",
    "resize_mask",
    "sample_batch",
    "to_tensor",
    "to_uint8",
    "window_around",
]
