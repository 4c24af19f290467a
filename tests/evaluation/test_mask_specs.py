"""glcic.evaluation.mask_specs: what ``--masks`` accepts, and how it says no."""

from __future__ import annotations

import pytest

from glcic.errors import InputError
from glcic.evaluation import parse_mask_spec
from glcic.options import SHAPE_AREA_DEFAULT


@pytest.mark.parametrize(
    ("spec", "kind"),
    [("rect", "rect"), ("center", "center"), ("freeform", "freeform"), ("RECT", "rect")],
)
def test_parse_simple_specs(spec, kind):
    assert parse_mask_spec(spec).kind == kind


def test_parse_nvidia_spec(tmp_path):
    s = parse_mask_spec("nvidia:10-20")
    assert (s.kind, s.area, s.folder) == ("nvidia", (0.1, 0.2), None)
    s = parse_mask_spec(f"nvidia:0-5.5@{tmp_path}")
    assert s.area == (0.0, 0.055) and s.folder == tmp_path
    assert parse_mask_spec(str(tmp_path)).kind == "folder"


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("bogus", r"unknown mask spec 'bogus': expected rect, center, freeform, strokes\[:LO-HI\], blobs"),
        ("strokes:30-5", r"0 <= LO < HI <= 100 .*got 30-5"),
        ("blobs:big", r"expected blobs:LO-HI with the hole area in percent, e.g. blobs:10-20"),
        ("strokes:", r"expected strokes:LO-HI"),
        ("nvidia:20-10", r"0 <= LO < HI <= 100 .*got 20-10"),
        ("nvidia:10-120", r"0 <= LO < HI <= 100"),
        ("nvidia:x", r"expected nvidia:LO-HI with the hole area in percent"),
        ("nvidia", r"expected nvidia:LO-HI"),
        ("nvidia:10-20@", r"nothing after '@'"),
        ("nvidia-bins@", r"nothing after '@'; give nvidia-bins@FOLDER"),
        ("", r"mask spec must be one of"),
    ],
)
def test_bad_spec_raises(spec, match):
    with pytest.raises(InputError, match=match):
        parse_mask_spec(spec)


def test_spec_that_is_a_file_raises(tmp_path):
    f = tmp_path / "mask.png"
    f.write_bytes(b"")
    with pytest.raises(InputError, match="is a file; a mask spec is"):
        parse_mask_spec(str(f))




def test_parse_shape_specs():
    s = parse_mask_spec("strokes")
    assert (s.kind, s.area) == ("strokes", SHAPE_AREA_DEFAULT)
    s = parse_mask_spec("Blobs:10-25.5")
    assert (s.kind, s.area, s.text) == ("blobs", (0.1, 0.255), "Blobs:10-25.5")
