"""The evaluation report as Markdown: the tables ``glcic evaluate`` prints.

:func:`format_markdown` renders a report (the dict of :mod:`glcic.evaluation.report`, whose
docstring lists its keys) as a header line, the ``nvidia-bins`` tables (bins x methods)
when the masks came in bins, the overall table (one row per method, LPIPS / FID columns
when measured) and the table by measured hole area. Reports written before the texture
measures existed are rendered without their columns.
"""

from __future__ import annotations

from typing import Any

from glcic.options import NATIVE_SIZE, TEXTURE_METRICS


def _fmt(v: float | None, digits: int) -> str:
    return "inf" if v is None else f"{v:.{digits}f}"


def _has_texture(report: dict[str, Any]) -> bool:
    """Whether the report holds the texture measures (reports written before them do not)."""
    return all("detail_median" in s for s in report["methods"].values())


def _med_mean(s: dict[str, Any], k: str) -> str:
    """``median / mean`` of texture measure ``k``, ``—`` where it is undefined."""
    med, mean = s.get(f"{k}_median"), s.get(f"{k}_mean")
    return "—" if med is None else f"{med:.2f} / {mean:.2f}"


def _label(k: str) -> str:
    """A texture measure's column name: ``grid_peak_4`` -> ``grid 4 px``, ``colour_detail`` ->
    ``colour detail``, ``stripe_peak`` -> ``stripes``."""
    if k.startswith("grid_peak_"):
        return f"grid {k.removeprefix('grid_peak_')} px"
    return "stripes" if k == "stripe_peak" else k.replace("_", " ")


def _labels() -> str:
    """``detail / colour detail / grid 4 px / grid 2 px / stripes``: the texture measures in one cell."""
    return " / ".join(_label(k) for k in TEXTURE_METRICS)


def _medians(s: dict[str, Any]) -> str:
    """The medians of :data:`TEXTURE_METRICS` in one cell (:func:`_labels` names them); ``—``
    for a measure the row lacks (reports written before it existed) or could not read."""
    return " / ".join("—" if s.get(f"{k}_median") is None else f"{s[f'{k}_median']:.2f}" for k in TEXTURE_METRICS)


def format_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: a header line, the ``nvidia-bins`` tables (bins x methods)
    when there are some, the overall table, and the table by measured hole area."""
    lines = [_header(report), ""]
    texture = _has_texture(report)
    if report["bins_by"] == "mask_bin":
        lines += _bin_table(report) + [""]
        if texture:
            lines += _bin_texture_table(report) + [""]
    lines += _method_table(report)
    if report["bins_by"] == "hole_area" and report["bins"]:
        head = "| hole area | images | method | PSNR (dB) | SSIM | hole PSNR (dB) | hole L1 |"
        rule = "|---|---|---|---|---|---|---|"
        if texture:
            head += f" {_labels()} (medians) |"
            rule += "---|"
        lines += ["", "By hole area (percent of the image):", "", head, rule]
        for label, by_method in report["bins"].items():
            for name, s in by_method.items():
                lines.append(
                    f"| {label} | {s['n_images']} | {name} | {_fmt(s['psnr'], 2)} | {_fmt(s['ssim'], 4)} "
                    f"| {_fmt(s['hole_psnr'], 2)} | {_fmt(s['hole_l1'], 4)} |"
                    + (f" {_medians(s)} |" if texture else "")
                )
            if texture and label in report.get("original_bins", {}):
                lines.append(f"| {label} | | original | | | | | {_medians(report['original_bins'][label])} |")
    return "\n".join(lines) + "\n"


def _header(report: dict[str, Any]) -> str:
    """One line: what was evaluated, how, and how many images were skipped."""
    m = report["model"]
    size = report["size"]
    inf = report.get("inference") or {}
    where = (
        f"at their own size (strategy {inf.get('strategy')}, postprocess {inf.get('postprocess')})"
        if size == NATIVE_SIZE
        else f"at {size} px"
    )
    skipped = report.get("n_skipped", 0)
    names = [s["image"] for s in report.get("skipped", [])]
    return (
        f"{report['n_images']} images from {report['data']}"
        + (f" ({report['split']} split)" if report.get("split") else "")
        + f" {where}, masks {report['masks']}, seed {report['seed']}"
        + (f", model {m.get('name')} ({m.get('path')})" if m else "")
        + f"; skipped {skipped} unreadable image(s)"
        + (": " + ", ".join(names[:10]) + (" ..." if len(names) > 10 else "") if names else "")
    )


def _method_table(report: dict[str, Any]) -> list[str]:
    """Overall averages, one row per method, the texture measures (median / mean over the
    images) and a row for the photo itself when measured, LPIPS / FID columns when measured."""
    texture = _has_texture(report)
    tex_head = "".join(f" {_label(k)} (median / mean) |" for k in TEXTURE_METRICS)
    lines = [
        "| method | PSNR (dB) | SSIM | hole PSNR (dB) | hole L1 |" + (tex_head if texture else "") + " s / image |",
        "|---|---|---|---|---|" + ("---|" * len(TEXTURE_METRICS) if texture else "") + "---|",
    ]
    extra = [k for k in ("lpips", "fid") if any(k in s for s in report["methods"].values())]
    if extra:  # LPIPS / FID columns when their weights were given
        lines[-2] += "".join(f" {k.upper()} |" for k in extra)
        lines[-1] += "---|" * len(extra)
    for name, s in report["methods"].items():
        lines.append(
            f"| {name} | {_fmt(s['psnr'], 2)} | {_fmt(s['ssim'], 4)} | {_fmt(s['hole_psnr'], 2)} "
            f"| {_fmt(s['hole_l1'], 4)} |"
            + ("".join(f" {_med_mean(s, k)} |" for k in TEXTURE_METRICS) if texture else "")
            + f" {s['seconds_per_image']:.4f} |"
            + "".join(f" {_fmt(s.get(k), 4)} |" for k in extra)
        )
    if texture and report.get("original"):
        o = report["original"]
        lines.append(
            "| original (the photo) | | | | |" + "".join(f" {_med_mean(o, k)} |" for k in TEXTURE_METRICS)
            + " |" + " |" * len(extra)
        )  # fmt: skip
        lines += ["", _texture_note(report)]
    return lines


def _texture_note(report: dict[str, Any]) -> str:
    """What the texture columns mean, and over how many images they were read."""
    o = report["original"]
    n = next(iter(report["methods"].values()))["n_images"]
    counts = (
        f"detail on {o.get('detail_n', 0)}, colour detail on {o.get('colour_detail_n', 0)} (not on gray "
        f"photos), grid and stripe peaks on {o.get('grid_peak_4_n', 0)} of {n} holes"
    )
    return (
        "detail: the fill's mean luma gradient over the hole's interior (the hole less 3 px) over the "
        "photo's (1 = the photo's own texture, a blur far below); colour detail: the same of the "
        "chroma (Cb, Cr; a gray fill 0, false colour far above 1); grid 4 px / 2 px: the power of the "
        "fill's fine detail on the frequency lines of the decoder's upsampling periods over nearby lines "
        "(a photo reads about 1); stripes: the same ratio on the strongest line of any period from 2 to "
        "16 px (the maximum is biased up: white noise reads about 1.4, a photo about 1.7, stripes over a "
        f"smooth fill 10 and more; read it against the photo's). Read where the hole has an interior: {counts}."
    )


def _bin_texture_table(report: dict[str, Any]) -> list[str]:
    """Per mask bin and method: the medians of the texture measures, and the photo's."""
    names = list(report["methods"])
    lines = [
        f"{_labels().capitalize()} (medians over the images) by NVIDIA mask bin:",
        "",
        "| hole area | " + " | ".join(names) + " | original |",
        "|---|" + "---|" * (len(names) + 1),
    ]
    for label, by_method in report["bins"].items():
        cells = [_medians(by_method[k]) for k in names] + [_medians(report["original_bins"].get(label, {}))]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _bin_table(report: dict[str, Any]) -> list[str]:
    """The literature's table: one row per mask bin, one column per method, each cell
    ``hole PSNR (dB) / hole L1``; the last row is the mean seconds per image."""
    names = list(report["methods"])
    lines = [
        "Hole PSNR (dB) / hole L1 by NVIDIA mask bin (hole area, percent of the image):",
        "",
        "| hole area | images | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for label, by_method in report["bins"].items():
        n = next(iter(by_method.values()))["n_images"]
        cells = [f"{_fmt(by_method[k]['hole_psnr'], 2)} / {_fmt(by_method[k]['hole_l1'], 4)}" for k in names]
        lines.append(f"| {label} | {n} | " + " | ".join(cells) + " |")
    secs = [f"{report['methods'][k]['seconds_per_image']:.4f}" for k in names]
    lines.append("| s / image | | " + " | ".join(secs) + " |")
    return lines
