"""Tests for glcic.data.celeba: the official CelebA layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from glcic.data.celeba import CelebAIndex, is_celeba_root
from glcic.errors import InputError


def test_fake_root_parses_crlf_and_spaces(tmp_path: Path, make_fake_celeba) -> None:
    root = make_fake_celeba(tmp_path / "celeba")
    assert is_celeba_root(root) and not is_celeba_root(tmp_path)
    idx = CelebAIndex.load(root)
    assert idx.files == ["000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg"]
    assert (
        idx.attr_names[0] == "Attr_0"
        and idx.attr_names[-1] == "Young"
        and len(idx.attr_names) == 40
    )
    assert idx.attributes.shape == (4, 40) and idx.attributes.dtype == np.int8
    expected = np.array(
        [[(i + k) % 3 == 0 for k in range(40)] for i in (1, 2, 3, 4)], np.int8
    )  # 1 -> 1, -1 -> 0
    np.testing.assert_array_equal(idx.attributes, expected)
    assert idx.partition == {"000001.jpg": 0, "000002.jpg": 0, "000003.jpg": 1, "000004.jpg": 2}
    assert idx.identity["000003.jpg"] == 103


def test_splits_return_only_files_on_disk(tmp_path: Path, make_fake_celeba) -> None:
    idx = CelebAIndex.load(make_fake_celeba(tmp_path / "c"))
    train, train_attrs = idx.split("train")
    assert [p.name for p in train] == ["000001.jpg", "000002.jpg"]
    assert all(p.is_file() for p in train)
    np.testing.assert_array_equal(train_attrs, idx.attributes[:2])
    val, val_attrs = idx.split("val")
    assert [p.name for p in val] == ["000003.jpg"] and val_attrs.shape == (1, 40)
    everything, _ = idx.split("all")
    assert len(everything) == 3  # 000004.jpg is listed but not on disk
    with pytest.raises(
        InputError, match=r"split 'test'.*1 file\(s\) for it but none is in.*test partition"
    ):
        idx.split("test")
    with pytest.raises(
        InputError, match="unknown CelebA split 'training'; use one of train, val, test, all"
    ):
        idx.split("training")


def test_layout_errors_name_the_missing_piece(tmp_path: Path, make_fake_celeba) -> None:
    with pytest.raises(InputError, match="does not exist"):
        CelebAIndex.load(tmp_path / "nowhere")
    root = make_fake_celeba(tmp_path / "a")
    (root / "list_eval_partition.txt").unlink()
    with pytest.raises(
        InputError, match="no list_eval_partition.txt; expected the official CelebA layout"
    ):
        CelebAIndex.load(root)

    root = make_fake_celeba(tmp_path / "b")
    for f in (root / "img_align_celeba").iterdir():
        f.rename(root / f.name)
    (root / "img_align_celeba").rmdir()
    with pytest.raises(InputError, match="no img_align_celeba/ folder"):
        CelebAIndex.load(root)

    root = make_fake_celeba(tmp_path / "c")
    (root / "list_attr_celeba.txt").unlink()
    idx = CelebAIndex.load(root)  # attributes are optional...
    assert idx.attr_names == [] and idx.attributes.shape == (4, 0)
    with pytest.raises(InputError, match="no list_attr_celeba.txt, but attributes were requested"):
        CelebAIndex.load(root, require_attributes=True)  # ...unless asked for


def test_malformed_annotation_files(tmp_path: Path, make_fake_celeba) -> None:
    root = make_fake_celeba(tmp_path / "a", crlf=False)
    attr = root / "list_attr_celeba.txt"
    lines = attr.read_text().splitlines()
    attr.write_text("\n".join(["5", *lines[1:]]) + "\n")
    with pytest.raises(InputError, match="line 1 says 5 images but 4 rows follow"):
        CelebAIndex.load(root)
    attr.write_text("\n".join([*lines[:3], lines[3].replace(" 1", " 2", 1), *lines[4:]]) + "\n")
    with pytest.raises(InputError, match="line 4: attribute value '2'; expected 1 or -1"):
        CelebAIndex.load(root)
    attr.write_text("\n".join([*lines[:2], lines[2] + " 1", *lines[3:]]) + "\n")
    with pytest.raises(InputError, match="line 3: expected a file name and 40 values, got 41"):
        CelebAIndex.load(root)

    root = make_fake_celeba(tmp_path / "b", crlf=False)
    (root / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg train\n")
    with pytest.raises(InputError, match="000002.jpg has partition value 'train'; expected 0"):
        CelebAIndex.load(root)


def test_shared_celeba_splits(celeba_root: Path) -> None:
    idx = CelebAIndex.load(celeba_root)
    assert len(idx.attr_names) == 40
    assert idx.attr_names[0] == "5_o_Clock_Shadow" and idx.attr_names[-1] == "Young"
    train, train_attrs = idx.split("train")
    val, val_attrs = idx.split("val")
    assert (len(train), len(val)) == (4591, 780)  # ../shared/data/README.md
    assert train_attrs.shape == (4591, 40) and val_attrs.shape == (780, 40)
    assert set(np.unique(train_attrs).tolist()) == {0, 1}
    assert not set(train) & set(val)
    with pytest.raises(InputError, match="split 'test'.*leaves out the official test partition"):
        idx.split("test")
