"""`glcic inpaint`'s folder mode: every image of ``--input-dir`` with its mask from ``--mask-dir``.

    glcic inpaint --input-dir photos --mask-dir masks --output-dir out

A mask pairs with an image by file stem (``a.jpg`` <- ``masks/a.png`` or
``masks/a_mask.png``, any image ending; beside its image only ``a_mask.*``). Every pair and
output is planned before any work, so an output that would write over an input is refused
(exit 2) first; one bad file is reported and the rest go on (exit 1 if any failed). The
model is loaded once, and each image is completed as the single-image mode completes it
(:mod:`glcic.commands.inpaint`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glcic.commands.inpaint import build_runner, check_not_an_input, complete_file
from glcic.errors import InputError

__all__ = ["find_mask", "list_folder", "plan_folder", "run_folder"]


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


def list_folder(args: argparse.Namespace) -> list[Path]:
    """The images of ``--input-dir`` (not the masks beside them)."""
    from glcic.io import READ_EXTENSIONS

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
    return images


def plan_folder(args: argparse.Namespace, images: list[Path]) -> tuple[list[tuple[Path, Path, Path]], list[Path], list[str]]:
    """Pair images with masks and outputs, before any work.

    Returns:
        ``(image, mask, output)`` triples, the images without a mask, and the
        images whose mask lookup failed (``"image: why"``).

    Raises:
        InputError: an output that would write over an input (see :func:`check_not_an_input`).
    """
    from glcic.io import READ_EXTENSIONS, SAVE_FORMATS

    jobs, skipped, failed = [], [], []
    for image in images:
        try:
            mask = find_mask(image, args.mask_dir, READ_EXTENSIONS)
        except InputError as e:
            failed.append(f"{image}: {e}")
            continue
        if mask is None:
            skipped.append(image)
            continue
        # Same ending as the input when glcic can write it, else PNG.
        suffix = image.suffix.lower() if image.suffix.lower() in SAVE_FORMATS else ".png"
        jobs.append((image, mask, args.output_dir / (image.stem + suffix)))
    protected = images + [m for _, m, _ in jobs]
    for image, _, output in jobs:
        check_not_an_input(output, image, protected, args.overwrite_inputs)
    return jobs, skipped, failed


def run_folder(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    images = list_folder(args)
    jobs, skipped, failed = plan_folder(args, images)
    protected = images + [m for _, m, _ in jobs]
    for image in skipped:
        print(f"glcic inpaint: skipped: {image}: no mask {image.stem}.* or {image.stem}_mask.* in {args.mask_dir}",
              file=sys.stderr)
    for line in failed:
        print(f"glcic inpaint: failed: {line}", file=sys.stderr)
    if not jobs:
        print(f"0 done, {len(skipped)} skipped (no mask), {len(failed)} failed")
        print(f"glcic inpaint: error: no image in {args.input_dir} has a mask in {args.mask_dir}; masks pair "
              "by file stem (a.jpg <- a.png or a_mask.png)", file=sys.stderr)
        return 1
    args.output_dir.mkdir(parents=True, exist_ok=True)
    run, name = build_runner(args)  # once, before the loop; a bad --model is exit 2
    done, n_failed = 0, len(failed)
    strategies: dict[str, int] = {}
    written: dict[str, Path] = {}  # output name -> the image it came from (a.tif and a.png both want a.png)
    bar = tqdm(jobs, unit="img", disable=not sys.stderr.isatty(), file=sys.stderr)
    for image, mask, output in bar:
        try:
            def guard(out: Path, image: Path = image) -> None:
                check_not_an_input(out, image, protected, args.overwrite_inputs)

            _, result, notes = complete_file(run, args, image, mask, output, guard, alpha_to_png=True, written=written)
            for note in notes:
                tqdm.write(f"glcic inpaint: warning: {note}", file=sys.stderr)
            key = "nothing to do (empty mask)" if result.did_nothing else f"{result.strategy} at scale {result.scale:.3g}"
            strategies[key] = strategies.get(key, 0) + 1
            done += 1
        except KeyboardInterrupt:
            raise
        except Exception as e:  # one bad file must not stop the rest
            n_failed += 1
            what = "" if isinstance(e, InputError) else f"{type(e).__name__}: "
            tqdm.write(f"glcic inpaint: failed: {image}: {what}{e}", file=sys.stderr)
    bar.close()
    if strategies:
        ran = ", ".join(f"{k} x{n}" for k, n in sorted(strategies.items()))
        print(f"glcic inpaint: model {name}, postprocess {args.postprocess}; {ran}", file=sys.stderr)
    print(f"{done} done, {len(skipped)} skipped (no mask), {n_failed} failed")
    return 1 if n_failed else 0
