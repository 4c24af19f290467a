"""`glcic inpaint`: complete one image, or every image of a folder.

One image:   glcic inpaint photo.jpg --mask mask.png --output out.png
A folder:    glcic inpaint --input-dir photos --mask-dir masks --output-dir out

Masks: white / non-zero = hole. In folder mode a mask is paired with an image by
file stem (``a.jpg`` <- ``masks/a.png`` or ``masks/a_mask.png``, any image ending).
"""

from __future__ import annotations

import argparse
import sys
import warnings
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
    POSTPROCESS,
    PRECISIONS,
    STRATEGIES,
)


def register(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name,
        help="fill the holes of an image (or a folder of images)",
        description="Complete the masked region of an image with the completion network (or a\n"
        "classical method). Mask: white / non-zero = hole. Outside the hole the output equals\n"
        "the input exactly (with --postprocess blend, a 3-pixel seam around each hole may change).",
        epilog="examples:\n"
        "  glcic inpaint photo.jpg --mask mask.png --output out.png\n"
        "  glcic inpaint --input-dir photos --mask-dir masks --output-dir done\n"
        "  glcic inpaint photo.jpg --mask mask.png --output out.png --method telea   # no model needed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", nargs="?", type=Path, help="the image to complete (single-image mode)")
    p.add_argument("--mask", type=Path, help="mask image, white = hole (single-image mode)")
    p.add_argument("--output", "-o", type=Path, help="output file: .png, .jpg, .webp or .bmp")
    g = p.add_argument_group("folder mode")
    g.add_argument("--input-dir", type=Path, help="folder of images to complete")
    g.add_argument("--mask-dir", type=Path, help="folder of masks, paired by stem or stem + _mask")
    g.add_argument("--output-dir", type=Path, help="folder for the results (created if missing)")
    p.add_argument("--model", default=DEFAULT_MODEL, help="'default' (the shipped model) or a bundle folder")
    p.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD, help="glcic (the network) or a classical method")
    p.add_argument("--postprocess", choices=POSTPROCESS, default=DEFAULT_POSTPROCESS, help="blend: fast marching + Poisson blending (Sec. 3.4)")
    p.add_argument("--strategy", choices=STRATEGIES, default=DEFAULT_STRATEGY, help="how images larger than the training size are handled")
    p.add_argument("--device", default="cpu", help=DEVICES_HELP)
    p.add_argument("--precision", choices=PRECISIONS, default=DEFAULT_PRECISION,
                   help="auto: bf16 where the CPU/GPU runs it natively, else fp32 (use fp32 for evaluation)")
    p.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND, help="onnxruntime runs in fp32")
    p.add_argument("--resize-mask", action="store_true", help="resize a mask of another size (nearest neighbour)")
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
    if folder:
        missing = [f for f, v in (("--input-dir", args.input_dir), ("--mask-dir", args.mask_dir),
                                  ("--output-dir", args.output_dir)) if v is None]
        if missing:
            raise InputError(f"folder mode needs --input-dir, --mask-dir and --output-dir; missing {', '.join(missing)}")
        return _run_folder(args)
    missing = [f for f, v in (("IMAGE", args.image), ("--mask", args.mask), ("--output", args.output)) if v is None]
    if missing:
        raise InputError(
            f"missing {', '.join(missing)}; usage: glcic inpaint IMAGE --mask MASK --output OUT "
            "(or --input-dir D --mask-dir M --output-dir O)"
        )
    return _run_single(args)


def _pipeline(args: argparse.Namespace) -> Any:
    from glcic.pipeline import InpaintPipeline

    if args.method != "glcic":
        return InpaintPipeline.classical(args.method)
    return InpaintPipeline.from_pretrained(
        args.model, device=args.device, precision=args.precision, backend=args.backend
    )


def _complete_file(
    pipe: Any,
    args: argparse.Namespace,
    image: Path,
    mask: Path,
    output: Path,
    alpha_to_png: bool = False,
    written: dict[str, Path] | None = None,
) -> list[str]:
    """Read, complete and write one image; return warning messages (e.g. an empty mask).

    The image is decoded and the mask parsed once, here; the pipeline takes both as
    they are and answers with a PIL image in the input's mode family (gray stays
    gray, alpha is untouched), which is written as it is.

    Folder mode: ``alpha_to_png`` writes a .png when the image has transparency that
    its own format (JPEG, BMP) cannot store; ``written`` (output name -> image) stops
    two images (``a.tif``, ``a.png``) from writing the same file.
    """
    from glcic.io import check_save_path, load_image, load_mask, save_image

    limit = args.max_pixels or None
    loaded = load_image(image, max_pixels=limit)
    if alpha_to_png and loaded.alpha is not None and output.suffix.lower() in (".jpg", ".jpeg", ".bmp"):
        output = output.with_suffix(".png")
    check_save_path(output, has_alpha=loaded.alpha is not None)
    if written is not None and output.name in written:
        raise InputError(f"{written[output.name].name} already wrote {output.name}; rename one of the two images")
    hole = load_mask(mask, size=loaded.size, resize=args.resize_mask, max_pixels=limit)  # (H, W) bool
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = pipe(loaded, hole, postprocess=args.postprocess, strategy=args.strategy, method=args.method)
    save_image(output, out)
    if written is not None:
        written[output.name] = image
    return [f"{image}: {w.message}" for w in caught if issubclass(w.category, UserWarning)]


def _run_single(args: argparse.Namespace) -> int:
    from glcic.io import check_save_path

    for path, what in ((args.image, "image"), (args.mask, "mask")):
        if not path.exists():
            raise InputError(f"{what} file {path} does not exist; check the path")
    check_save_path(args.output)  # fail on a bad --output before loading a model
    pipe = _pipeline(args)
    for note in _complete_file(pipe, args, args.image, args.mask, args.output):
        print(f"glcic inpaint: warning: {note}", file=sys.stderr)
    print(f"glcic inpaint: wrote {args.output}")
    return 0


def find_mask(image: Path, mask_dir: Path, extensions: tuple[str, ...]) -> Path | None:
    """The mask of ``image`` in ``mask_dir``: same stem, else stem + ``_mask``; any image ending.

    Raises:
        InputError: several files match (e.g. ``a.png`` and ``a.jpg``).
    """
    same_dir = mask_dir.resolve() == image.parent.resolve()
    stems = [image.stem + "_mask"] if same_dir else [image.stem, image.stem + "_mask"]
    for stem in stems:
        found = sorted(
            p for p in mask_dir.iterdir()
            if p.is_file() and p.stem == stem and p.suffix.lower() in extensions
        )
        if len(found) > 1:
            raise InputError(
                f"several masks match {image.name}: {', '.join(p.name for p in found)}; keep one"
            )
        if found:
            return found[0]
    return None


def _run_folder(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from glcic.io import READ_EXTENSIONS, SAVE_FORMATS

    for d, flag in ((args.input_dir, "--input-dir"), (args.mask_dir, "--mask-dir")):
        if not d.is_dir():
            raise InputError(f"{flag} {d} is not a folder; give an existing folder")
    if args.output_dir.exists() and not args.output_dir.is_dir():
        raise InputError(f"--output-dir {args.output_dir} is a file; give a folder")
    images = sorted(
        p for p in args.input_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in READ_EXTENSIONS
    )
    if args.mask_dir.resolve() == args.input_dir.resolve():
        # Masks beside their images: a.png + a_mask.png; the masks are not inputs.
        stems = {p.stem for p in images}
        images = [p for p in images if not (p.stem.endswith("_mask") and p.stem[: -len("_mask")] in stems)]
    if not images:
        raise InputError(
            f"no images in {args.input_dir} (looked for {', '.join(READ_EXTENSIONS)}); check --input-dir"
        )
    args.output_dir.mkdir(parents=True, exist_ok=True)
    pipe = _pipeline(args)  # once, before the loop; a bad --model is exit 2
    done = skipped = failed = 0
    written: dict[str, Path] = {}  # output name -> the image it came from (a.tif and a.png both want a.png)
    bar = tqdm(images, unit="img", disable=not sys.stderr.isatty(), file=sys.stderr)
    for image in bar:
        try:
            mask = find_mask(image, args.mask_dir, READ_EXTENSIONS)
            if mask is None:
                skipped += 1
                continue
            # Same ending as the input when glcic can write it, else PNG.
            suffix = image.suffix.lower() if image.suffix.lower() in SAVE_FORMATS else ".png"
            output = args.output_dir / (image.stem + suffix)
            notes = _complete_file(pipe, args, image, mask, output, alpha_to_png=True, written=written)
            for note in notes:
                tqdm.write(f"glcic inpaint: warning: {note}", file=sys.stderr)
            done += 1
        except KeyboardInterrupt:
            raise
        except Exception as e:  # one bad file must not stop the rest
            failed += 1
            what = "" if isinstance(e, InputError) else f"{type(e).__name__}: "
            tqdm.write(f"glcic inpaint: failed: {image}: {what}{e}", file=sys.stderr)
    bar.close()
    print(f"{done} done, {skipped} skipped (no mask), {failed} failed")
    return 1 if failed else 0
