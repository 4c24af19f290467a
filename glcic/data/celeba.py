"""Reader for the official CelebA layout (Liu et al., ICCV 2015).

Expected layout::

    root/
      img_align_celeba/000001.jpg ...   the aligned-and-cropped JPEGs
      list_eval_partition.txt           "000001.jpg 0" per line: 0 train, 1 val, 2 test
      list_attr_celeba.txt              line 1: count; line 2: the 40 attribute names;
                                        then "000001.jpg v1 ... v40" with 1 / -1
      identity_CelebA.txt               optional: "000001.jpg 2880" per line

The annotation files may list more images than are on disk (the shared copy in
``../shared/data/celeba`` holds a subset, and leaves out the test partition);
:meth:`CelebAIndex.split` returns only the files that exist.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glcic.errors import InputError

IMAGE_DIR = "img_align_celeba"
PARTITION_FILE = "list_eval_partition.txt"
ATTR_FILE = "list_attr_celeba.txt"
IDENTITY_FILE = "identity_CelebA.txt"

SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}
"""Split name -> value in ``list_eval_partition.txt``; ``"all"`` selects every value."""

_LAYOUT = (
    f"expected the official CelebA layout: {IMAGE_DIR}/*.jpg, {PARTITION_FILE} "
    f"and {ATTR_FILE} (optional: {IDENTITY_FILE})"
)


def is_celeba_root(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder with a CelebA partition file (``list_eval_partition.txt``)."""
    p = Path(path)
    return p.is_dir() and (p / PARTITION_FILE).is_file()


@dataclass
class CelebAIndex:
    """The annotations of one CelebA root.

    Attributes:
        root: the CelebA root folder.
        files: every file name listed in the partition file, in file order.
        attr_names: the attribute names (40 for CelebA); empty without an attribute file.
        attributes: ``int8`` array (N, len(attr_names)) in {0, 1} (1 = attribute present),
            row i for ``files[i]``.
        partition: file name -> 0 (train), 1 (val) or 2 (test).
        identity: file name -> identity id, empty without ``identity_CelebA.txt``.
    """

    root: Path
    files: list[str]
    attr_names: list[str]
    attributes: np.ndarray
    partition: dict[str, int]
    identity: dict[str, int] = field(default_factory=dict)

    @property
    def image_dir(self) -> Path:
        return self.root / IMAGE_DIR

    @classmethod
    def load(cls, root: str | os.PathLike, require_attributes: bool = False) -> CelebAIndex:
        """Parse the annotation files of a CelebA root.

        Args:
            root: folder in the official layout (see the module docstring).
            require_attributes: raise when ``list_attr_celeba.txt`` is missing
                (otherwise ``attr_names`` is empty and ``attributes`` has 0 columns).

        Raises:
            InputError: the folder or a required file is missing, or a file is malformed;
                the message names the file and the expected format.
        """
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"CelebA root {root} does not exist or is not a folder; {_LAYOUT}")
        if not (root / IMAGE_DIR).is_dir():
            raise InputError(f"CelebA root {root} has no {IMAGE_DIR}/ folder; {_LAYOUT}")
        part_path = root / PARTITION_FILE
        if not part_path.is_file():
            raise InputError(f"CelebA root {root} has no {PARTITION_FILE}; {_LAYOUT}")
        partition = _read_partition(part_path)
        files = list(partition)

        attr_path = root / ATTR_FILE
        if attr_path.is_file():
            attr_names, attr_rows = _read_attributes(attr_path)
            missing = [f for f in files if f not in attr_rows]
            if missing:
                raise InputError(
                    f"{attr_path} has no attribute row for {len(missing)} file(s) listed in "
                    f"{PARTITION_FILE} (first: {missing[0]}); the two files must cover the same images"
                )
            attributes = (
                np.stack([attr_rows[f] for f in files])
                if files
                else np.zeros((0, len(attr_names)), np.int8)
            )
        elif require_attributes:
            raise InputError(
                f"CelebA root {root} has no {ATTR_FILE}, but attributes were requested; add the "
                "official attribute file or set model.attributes=0"
            )
        else:
            attr_names, attributes = [], np.zeros((len(files), 0), np.int8)

        identity: dict[str, int] = {}
        id_path = root / IDENTITY_FILE
        if id_path.is_file():
            identity = {k: int(v) for k, v in _read_pairs(id_path, "identity id").items()}
        return cls(root, files, attr_names, attributes.astype(np.int8), partition, identity)

    def split(self, name: str) -> tuple[list[Path], np.ndarray]:
        """The image files of one split that exist on disk.

        Args:
            name: ``"train"`` (0), ``"val"`` (1), ``"test"`` (2) or ``"all"``.

        Returns:
            ``(paths, attrs)``: paths, in partition-file order, under ``img_align_celeba/``
            and their ``int8`` attributes (n, len(attr_names)) in {0, 1}.

        Raises:
            InputError: unknown split name, or no file of that split is on disk.
        """
        if name != "all" and name not in SPLITS:
            raise InputError(f"unknown CelebA split {name!r}; use one of train, val, test, all")
        on_disk = set(os.listdir(self.image_dir))
        want = None if name == "all" else SPLITS[name]
        listed = [i for i, f in enumerate(self.files) if want is None or self.partition[f] == want]
        keep = [i for i in listed if self.files[i] in on_disk]
        if not keep:
            where = (
                "all partitions" if want is None else f"partition value {want} in {PARTITION_FILE}"
            )
            if listed:
                hint = (
                    f"{PARTITION_FILE} lists {len(listed)} file(s) for it but none is in "
                    f"{self.image_dir}"
                )
            else:
                hint = f"{PARTITION_FILE} lists no file for it"
            raise InputError(
                f"CelebA split {name!r} ({where}) has no images: {hint}. The shared copy in "
                "../shared/data deliberately leaves out the official test partition; use "
                "data.train_split / data.val_split = train or val, or point data.root at a "
                "full CelebA download"
            )
        paths = [self.image_dir / self.files[i] for i in keep]
        return paths, self.attributes[keep]


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path} as text ({e}); {_LAYOUT}") from e
    # splitlines() handles LF and the official files' CRLF alike.
    return [ln for ln in text.splitlines() if ln.strip()]


def _read_pairs(path: Path, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, ln in enumerate(_lines(path), 1):
        parts = ln.split()
        if len(parts) != 2:
            raise InputError(f"{path} line {n}: expected 'FILE {what}', got {ln.strip()!r}")
        out[parts[0]] = parts[1]
    return out


def _read_partition(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for f, v in _read_pairs(path, "0|1|2").items():
        if v not in ("0", "1", "2"):
            raise InputError(
                f"{path}: file {f} has partition value {v!r}; expected 0 (train), 1 (val) or 2 (test)"
            )
        out[f] = int(v)
    if not out:
        raise InputError(f"{path} is empty; expected lines 'FILE 0|1|2'")
    return out


def _read_attributes(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    lines = _lines(path)
    fmt = "line 1: the image count; line 2: the attribute names; then 'FILE v1 ... vK' with 1 / -1"
    if len(lines) < 2:
        raise InputError(f"{path} is too short; expected {fmt}")
    try:
        count = int(lines[0].strip())
    except ValueError as e:
        raise InputError(
            f"{path} line 1 is {lines[0].strip()!r}, not an image count; expected {fmt}"
        ) from e
    names = lines[1].split()
    k = len(names)
    rows: dict[str, np.ndarray] = {}
    for n, ln in enumerate(lines[2:], 3):
        parts = ln.split()
        if len(parts) != k + 1:
            raise InputError(
                f"{path} line {n}: expected a file name and {k} values, got {len(parts) - 1} values"
            )
        vals = parts[1:]
        bad = [v for v in vals if v not in ("1", "-1", "0")]
        if bad:
            raise InputError(f"{path} line {n}: attribute value {bad[0]!r}; expected 1 or -1")
        rows[parts[0]] = np.array([v == "1" for v in vals], dtype=np.int8)  # -1 / 0 -> 0
    if count != len(rows):
        raise InputError(
            f"{path} line 1 says {count} images but {len(rows)} rows follow; the file is "
            "truncated or was edited without updating line 1"
        )
    return names, rows
