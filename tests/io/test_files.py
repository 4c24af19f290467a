"""glcic.io.files: folders of images (one extension list) and every kind of source."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glcic.errors import InputError
from glcic.io import READ_EXTENSIONS, list_images, load_image
from tests.io.conftest import rgb_array, save_array


def test_list_images_sorted_recursive_case_insensitive(tmp_path: Path) -> None:
    img = np.zeros((4, 4, 3), np.uint8)
    save_array(tmp_path / "b.PNG", img)
    save_array(tmp_path / "a.jpg", img)
    save_array(tmp_path / "sub" / "c.JpEg", img)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"")
    assert list_images(tmp_path) == [
        tmp_path / "a.jpg",
        tmp_path / "b.PNG",
        tmp_path / "sub" / "c.JpEg",
    ]
    assert list_images(tmp_path, recursive=False) == [tmp_path / "a.jpg", tmp_path / "b.PNG"]
    assert ".webp" in READ_EXTENSIONS and ".bmp" in READ_EXTENSIONS


def test_list_images_missing_or_file_root(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        list_images(tmp_path / "nope")
    f = save_array(tmp_path / "x.png", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(InputError, match="is a file, not a folder"):
        list_images(f)


def test_tif_tiff_and_gif_folders_are_seen(tmp_path: Path) -> None:
    # The one extension list: training, evaluation and inference all read these.
    img = rgb_array(6, 8)
    for name in ("a.tif", "b.TIFF", "c.gif"):
        save_array(tmp_path / name, img)
    assert {".tif", ".tiff", ".gif"} <= set(READ_EXTENSIONS)
    assert [p.name for p in list_images(tmp_path)] == ["a.tif", "b.TIFF", "c.gif"]
    np.testing.assert_array_equal(load_image(tmp_path / "a.tif").rgb, img)


def test_every_source_kind_gives_the_same_pixels(tmp_path: Path) -> None:
    rgb = rgb_array()
    path = tmp_path / "a.png"
    Image.fromarray(rgb).save(path)
    data = path.read_bytes()
    for source in (path, str(path), data, io.BytesIO(data), Image.open(path), rgb):
        loaded = load_image(source)
        np.testing.assert_array_equal(loaded.rgb, rgb)
        assert loaded.alpha is None and loaded.rgb.dtype == np.uint8
    assert load_image(path).size == (32, 24)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(load_image(f).rgb, rgb)


def test_missing_folder_empty_and_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.png does not exist; check the path"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="is a folder, not an image file"):
        load_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.png is empty \(0 bytes\)"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "notes.png").write_text("these are not pixels\n")
    with pytest.raises(InputError, match=r"notes\.png is not an image glcic can read; expected a PNG, JPEG"):
        load_image(tmp_path / "notes.png")
    with pytest.raises(InputError, match="the image data is empty"):
        load_image(b"")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import glcic.io.files

    path = tmp_path / "secret.png"
    Image.fromarray(rgb_array()).save(path)

    def refuse(*args, **kwargs):  # what open() does on a file without read permission
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(glcic.io.files, "open", refuse, raising=False)  # chmod does not stop root
    with pytest.raises(InputError, match=r"cannot open .*secret\.png: Permission denied; check its permissions"):
        load_image(path)
