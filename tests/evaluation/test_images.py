"""glcic.evaluation.images: which images, in which order."""

from __future__ import annotations

import pytest

from glcic.errors import InputError
from glcic.evaluation import list_eval_images


def test_folder_images_sorted_and_limited(image_dir):
    paths, split = list_eval_images(image_dir, None, 3)
    assert [p.name for p in paths] == ["img_0.jpg", "img_1.png", "img_2.jpg"] and split is None
    assert len(list_eval_images(image_dir, None, 0)[0]) == 7


def test_test_split_of_a_plain_folder_raises(image_dir):
    with pytest.raises(InputError, match="is a plain folder .*choose train, val or all"):
        list_eval_images(image_dir, "test", 3)


def test_celeba_limit_and_split(celeba_root):
    val, split = list_eval_images(celeba_root, None, 4)
    assert split == "val" and len(val) == 4 and val == sorted(val)
    part = dict(
        ln.split()
        for ln in (celeba_root / "list_eval_partition.txt").read_text().splitlines()
        if ln.strip()
    )
    assert {part[p.name] for p in val} == {"1"}
    train, _ = list_eval_images(celeba_root, "train", 4)
    assert {part[p.name] for p in train} == {"0"}
    with pytest.raises(InputError, match="unknown CelebA split"):
        list_eval_images(celeba_root, "nope", 4)

