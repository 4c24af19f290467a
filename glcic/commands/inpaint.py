"""`glcic inpaint`: complete one image, or every image of a folder.

One image:   glcic inpaint photo.jpg --mask mask.png --output out.png
A folder:    glcic inpaint --input-dir photos --mask-dir masks --output-dir out

Masks: white / non-zero = hole; a mask with transparent pixels is read from its
alpha (:data:`glcic.io.MASK_RULE`). In folder mode a mask is paired with an image by
file stem (``a.jpg`` <- ``masks/a.png`` or ``masks/a_mask.png``, any image ending).

Results are written the way their input came (:data:`glcic.io.ENCODING_RULE`): the
input's ICC profile, EXIF and XMP (``--strip-metadata`` drops them), a JPEG's own
quantisation (``--quality`` to choose), lossy WebP kept lossy, 16 bits kept in PNG and TIFF.

Inputs are never written over: a result that would land on an image or a mask is
refused (exit 2) before any work, unless ``--overwrite-inputs`` asks for results to
replace their own images. The classical methods run without importing torch.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from glcic.errors import InputError
from glcic.options import (
    BACKENDS,
    DEFAULT_BACKEND,
    DEFAULT_MAX_PIXELS,
    DEFAULT_METHOD,
    DEFAULT_MODEL,
    DEFAULT_POSTPROCESS,
    DEFAULT_PRECISION,
    DEFAULT_STRATEGY,
    DEVICES_HELP,
    METHODS,
    MODEL_HELP,
    POSTPROCESS,
    PRECISIONS,
    STRATEGIES,
)


def register(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    from glcic.io import ENCODING_RULE, MASK_RULE

    p = sub.add_parser(
        name,
        help="fill the holes of an image (or a folder of images)",
        description="Complete the masked region of an image with the completion network (or a\n"
        "classical method). Outside the hole and a 3-pixel seam around it the output equals\n"
        "the input exactly (--postprocess none keeps the seam too).\n\n" + _wrap(MASK_RULE),
        epilog="output files:\n" + _wrap(ENCODING_RULE, "  ") + "\n\nexamples:\n"
        "  glcic inpaint photo.jpg --mask mask.png --output out.jpg\n"
        "  glcic inpaint --input-dir photos --mask-dir masks --output-dir done\n"
        "  glcic inpaint photo.jpg --mask mask.png --output out.png --method telea   # no model needed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", nargs="?", type=Path, help="the image to complete (single-image mode)")
    p.add_argument("--mask", type=Path,
                   help="mask image, white = hole; transparent pixels: painted (alpha > 0) = hole (single-image mode)")
    p.add_argument("--output", "-o", type=Path,
                   help="output file: .png, .jpg, .webp, .tif or .bmp (see 'output files' below)")
    g = p.add_argument_group("folder mode")
    g.add_argument("--input-dir", type=Path, help="folder of images to complete")
    g.add_argument("--mask-dir", type=Path, help="folder of masks, paired by stem or stem + _mask")
    g.add_argument("--output-dir", type=Path, help="folder for the results (created if missing)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=MODEL_HELP)
    p.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD, help="glcic (the network) or a classical method")
    p.add_argument("--postprocess", choices=POSTPROCESS, default=DEFAULT_POSTPROCESS,
                   help=f"auto: blend every hole but those the network completed at native scale, which blending "
                        f"would blur; blend: the paper's fast marching + Poisson blending on every hole (Sec. 3.4); "
                        f"none: the raw fill (default {DEFAULT_POSTPROCESS})")
    p.add_argument("--strategy", choices=STRATEGIES, default=DEFAULT_STRATEGY,
                   help="where and at what scale the network looks; auto: from each hole's depth")
    p.add_argument("--device", default="cpu", help=DEVICES_HELP)
    p.add_argument("--precision", choices=PRECISIONS, default=DEFAULT_PRECISION,
                   help="auto: bf16 where the CPU/GPU runs it natively, else fp32 (use fp32 for evaluation)")
    p.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND, help="onnxruntime runs in fp32")
    p.add_argument("--resize-mask", action="store_true", help="resize a mask of another size (nearest neighbour)")
    p.add_argument("--mask-threshold", type=int, default=None, metavar="T",
                   help="a mask pixel over T (0-254) is a hole (default: 127 for JPEG masks, else 0)")
    p.add_argument("--overwrite-inputs", action="store_true",
                   help="let each result replace its own input image (never a mask or another image)")
    p.add_argument("--quality", type=int, default=None, metavar="Q",
                   help="JPEG / lossy WebP quality 1-100 (default: a JPEG input's own tables, else 95 for "
                   "JPEG; makes WebP lossy)")
    p.add_argument("--strip-metadata", action="store_true",
                   help="write no ICC colour profile, EXIF (camera, date, GPS) or XMP into the result")
    p.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help=f"refuse images larger than N pixels (default {DEFAULT_MAX_PIXELS}; 0 = no limit)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    folder = args.input_dir is not None or args.mask_dir is not None or args.output_dir is not None
    single = args.image is not None or args.mask is not None or args.output is not None
    if folder and single:
        raise InputError(
            "give either IMAGE --mask MASK --output OUT or --input-dir D --mask-dir M --output-dir O, not both"
        )
    if args.max_pixels < 0:
        raise InputError(f"--max-pixels must be >= 0 (0 = no limit); got {args.max_pixels}")
    if args.quality is not None and not 1 <= args.quality <= 100:
        raise InputError(f"--quality must be from 1 to 100 (JPEG and lossy WebP); got {args.quality}")
    if folder:
        missing = [f for f, v in (("--input-dir", args.input_dir), ("--mask-dir", args.mask_dir),
                                  ("--output-dir", args.output_dir)) if v is None]
        if missing:
            raise InputError(f"folder mode needs --input-dir, --mask-dir and --output-dir; missing {', '.join(missing)}")
        from glcic.commands.inpaint_folder import run_folder

        return run_folder(args)
    missing = [f for f, v in (("IMAGE", args.image), ("--mask", args.mask), ("--output", args.output)) if v is None]
    if missing:
        raise InputError(
            f"missing {', '.join(missing)}; usage: glcic inpaint IMAGE --mask MASK --output OUT "
            "(or --input-dir D --mask-dir M --output-dir O)"
        )
    return _run_single(args)


Runner = Callable[[Any, Any], Any]
"""``(LoadedImage, hole)`` -> :class:`glcic.steps.InpaintResult`."""


def build_runner(args: argparse.Namespace, progress: Callable[[str, int, int], None] | None = None) -> tuple[Runner, str]:
    """What completes each image, and its description for the report line.

    Classical methods go through :func:`glcic.steps.run_classical`, which never imports
    torch; the network through :meth:`glcic.pipeline.InpaintPipeline.run`, telling
    ``progress`` how far it is (:data:`glcic.strategies.Progress`).
    """
    if args.method != "glcic":
        from glcic.steps import run_classical

        return (lambda image, hole: run_classical(image, hole, args.method, args.postprocess)), args.method
    from glcic.pipeline import InpaintPipeline
    from glcic.precision import resolve_device

    resolve_device(args.device)  # the CLI's wording (--device) for a bad or missing device
    pipe = InpaintPipeline.from_pretrained(args.model, device=args.device, precision=args.precision, backend=args.backend)

    def run(image: Any, hole: Any) -> Any:
        return pipe.run(image, hole, postprocess=args.postprocess, strategy=args.strategy, progress=progress)

    return run, pipe.info["name"]


def _wrap(text: str, indent: str = "") -> str:
    import textwrap

    return textwrap.fill(text, width=80, initial_indent=indent, subsequent_indent=indent)


def _what_ran(result: Any) -> str:
    """``model scenes, strategy tiles, scale 1, postprocess blend`` for the report line,
    or that nothing was done (an empty mask)."""
    if result.did_nothing:
        return "nothing done: the mask is empty, so the image is written as it came"
    return f"model {result.model}, strategy {result.strategy}, scale {result.scale:.3g}, postprocess {result.postprocess}"


# --------------------------------------------------------------------------- never over an input


def _same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` name one file, also on a file system that ignores case
    (``b.JPG``'s result ``b.jpg`` would replace a photo ``b.jpg`` there)."""
    try:
        if a.exists() and b.exists() and os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return str(a.resolve()).casefold() == str(b.resolve()).casefold()


def check_not_an_input(output: Path, image: Path, protected: list[Path], overwrite_inputs: bool) -> None:
    """Refuse an ``output`` that would write over an input.

    Args:
        output: where the result of ``image`` goes.
        image: its own input image (replaced only with ``overwrite_inputs``).
        protected: every other input: masks and the other images.

    Raises:
        InputError: ``output`` is ``image`` (without ``overwrite_inputs``) or any of ``protected``.
    """
    for other in protected:
        if other != image and _same_file(output, other):
            raise InputError(
                f"the result of {image} would be written to {output}, which is the input {other}; "
                "glcic never writes over a mask or another image; choose another --output / --output-dir"
            )
    if _same_file(output, image) and not overwrite_inputs:
        raise InputError(
            f"the result of {image} would be written over the image itself ({output}); choose another "
            "--output / --output-dir, or pass --overwrite-inputs to replace each image with its result"
        )


# --------------------------------------------------------------------------- one file


def complete_file(
    run: Runner,
    args: argparse.Namespace,
    image: Path,
    mask: Path,
    output: Path,
    guard: Callable[[Path], None],
    alpha_to_png: bool = False,
    written: dict[str, Path] | None = None,
) -> tuple[Path, Any, list[str]]:
    """Read, complete and write one image.

    The image is decoded and the mask parsed once, here; the runner takes both as
    they are and answers in the input's mode family and depth (gray stays gray, alpha
    is untouched, 16 bits stay 16), which is written with the input's metadata and
    encoding (:func:`glcic.io.save_image` with ``info``).

    Folder mode: ``alpha_to_png`` writes a .png when the image has transparency that
    its own format (JPEG, BMP) cannot store; ``written`` (output name, case-folded ->
    image) stops two images (``a.tif``, ``a.png``) from writing the same file.

    Returns:
        The path written, the :class:`~glcic.steps.InpaintResult` and warning
        messages (e.g. an empty mask).
    """
    from glcic.io import check_save_path, load_image, load_mask, save_image

    limit = args.max_pixels or None
    # Every warning on the way (a corrupt ICC profile, an empty mask, 16 bits into
    # JPEG...) is reported on the result's line.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = load_image(image, max_pixels=limit)
        if alpha_to_png and loaded.alpha is not None and output.suffix.lower() in (".jpg", ".jpeg", ".bmp"):
            output = output.with_suffix(".png")
            guard(output)
        check_save_path(output, has_alpha=loaded.alpha is not None)
        key = output.name.casefold()
        if written is not None and key in written:
            raise InputError(f"{written[key].name} already wrote {output.name}; rename one of the two images")
        hole = load_mask(mask, size=loaded.size, resize=args.resize_mask, max_pixels=limit, threshold=args.mask_threshold)
        result = run(loaded, hole)
        save_image(output, result.image, info=loaded.info, strip_metadata=args.strip_metadata, quality=args.quality)
    if written is not None:
        written[key] = image
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return output, result, [n if n.startswith(str(image)) else f"{image}: {n}" for n in notes]


def _run_single(args: argparse.Namespace) -> int:
    from glcic.io import check_save_path

    for path, what in ((args.image, "image"), (args.mask, "mask")):
        if not path.exists():
            raise InputError(f"{what} file {path} does not exist; check the path")
    check_save_path(args.output)  # fail on a bad --output before loading a model

    def guard(output: Path) -> None:
        check_not_an_input(output, args.image, [args.mask], args.overwrite_inputs)

    guard(args.output)
    bar = _ProgressBar()
    run, _ = build_runner(args, bar)
    try:
        output, result, notes = complete_file(run, args, args.image, args.mask, args.output, guard)
    finally:
        bar.close()
    for note in notes:
        print(f"glcic inpaint: warning: {note}", file=sys.stderr)
    print(f"glcic inpaint: wrote {output} ({_what_ran(result)})")
    return 0


class _ProgressBar:
    """A :data:`glcic.strategies.Progress` drawn with tqdm on stderr: only on a terminal (not
    in logs or pipes), and only once the image has taken :data:`PROGRESS_DELAY` seconds."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=1, delay=PROGRESS_DELAY, disable=not sys.stderr.isatty(), file=sys.stderr,
                        leave=False, bar_format="{desc} {n}/{total} [{elapsed}]")

    def __call__(self, what: str, done: int, total: int) -> None:
        self.bar.set_description_str(f"glcic inpaint: {what}", refresh=False)
        self.bar.total = max(1, total)
        self.bar.update(done - self.bar.n)  # update(), not refresh(): it honours the delay

    def close(self) -> None:
        self.bar.close()


PROGRESS_DELAY = 2.0
"""Seconds before a single image's progress shows (most finish sooner and print one line)."""
