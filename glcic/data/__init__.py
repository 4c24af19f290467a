"""Data: CelebA, datasets and training masks.

Mask convention: **1 / white / non-zero = hole**, 0 = known pixel (see
:mod:`glcic.data.masks`).

Modules, in the order data flows through them:

- :mod:`glcic.data.celeba`: the official CelebA layout (splits, attributes);
- :mod:`glcic.data.datasets`: the training and validation sets a ``DataConfig`` describes;
- :mod:`glcic.data.image_dataset`: :class:`ImageDataset`, cached images and batch augmentation;
- :mod:`glcic.data.preprocess`: centre crop and resize to a square;
- :mod:`glcic.data.masks`: the training hole generators and the batch sampler;
- :mod:`glcic.data.mask_folder`: holes from a folder of mask images;
- :mod:`glcic.data.windows`: the local discriminator's window and patch cropping.

Image files are found and decoded by :mod:`glcic.io` (one reader, one extension list
for training, evaluation and inference); its folder and file readers are re-exported here.
"""

from glcic.convert import to_tensor, to_uint8
from glcic.data.celeba import CelebAIndex, is_celeba_root
from glcic.data.datasets import build_datasets
from glcic.data.image_dataset import ImageDataset, compute_mean_pixel
from glcic.data.mask_folder import FolderMaskSource, resize_mask
from glcic.data.masks import (
    FreeFormMaskGenerator,
    MaskGenerator,
    RectMaskGenerator,
    build_mask_generator,
    sample_batch,
)
from glcic.data.preprocess import center_crop_square, preprocess
from glcic.data.windows import crop_windows, random_window, window_around
from glcic.io import READ_EXTENSIONS as IMAGE_EXTENSIONS
from glcic.io import list_images, read_mask, read_rgb

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
