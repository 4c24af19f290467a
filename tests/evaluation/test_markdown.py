"""The report's Markdown (:mod:`glcic.evaluation.markdown`), also for reports written by older versions."""

from __future__ import annotations

from glcic.evaluation.markdown import format_markdown
from tests.evaluation.conftest import run_eval


def test_markdown_of_a_report_without_texture_measures(bundle, image_dir):
    """Reports written before the texture measures still render, without their columns."""
    r = run_eval(bundle, image_dir, limit=2)
    for s in [*r["methods"].values(), *(m for b in r["bins"].values() for m in b.values())]:
        for k in list(s):
            if k.startswith(("detail", "colour_detail", "grid_peak", "stripe_peak")):
                del s[k]
    del r["original"], r["original_bins"]
    md = format_markdown(r)
    assert "| method | PSNR (dB) | SSIM | hole PSNR (dB) | hole L1 | s / image |" in md
    assert "detail" not in md


def test_markdown_of_a_report_from_before_the_stripe_peak(bundle, image_dir):
    """Reports with the grid peaks but written before the stripe peak render a dash in its column."""
    r = run_eval(bundle, image_dir, size=64, masks="center", limit=2)
    summaries = [*r["methods"].values(), r["original"], *r["original_bins"].values(),
                 *(m for b in r["bins"].values() for m in b.values())]  # fmt: skip
    for s in summaries:
        for k in [k for k in s if k.startswith("stripe_peak")]:
            del s[k]
    md = format_markdown(r)
    telea = next(line for line in md.splitlines() if line.startswith("| telea |"))
    assert telea.split(" | ")[-2] == "—"  # stripes, then s / image
    assert "/ — |" in next(line for line in md.splitlines() if "| telea |" in line and "%" in line)
    for table in md.split("\n\n"):
        rows = [line for line in table.splitlines() if line.startswith("|")]
        assert len({line.count("|") for line in rows}) <= 1, table
