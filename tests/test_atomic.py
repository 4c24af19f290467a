"""Atomic writes: complete or absent, never partial; a full disk named with the space left."""

import errno
import io

import pytest
import torch

from glcic import atomic
from glcic.atomic import (
    DiskFullError,
    atomic_write,
    is_disk_full,
    remove_stale_temps,
    write_text_atomic,
)


class _FullDisk(io.FileIO):
    """A file on a disk with ``room`` bytes left: it writes what fits, then raises ENOSPC."""

    room = 0

    def write(self, data) -> int:
        data = bytes(data)
        if len(data) > _FullDisk.room:
            super().write(data[: _FullDisk.room])  # a real disk takes what fits first
            _FullDisk.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        _FullDisk.room -= len(data)
        return super().write(data)


def fill_disk_after(monkeypatch: pytest.MonkeyPatch, room: int) -> None:
    """Every file :mod:`glcic.atomic` writes from now on runs out of space after ``room`` bytes in all."""
    _FullDisk.room = room
    monkeypatch.setattr(atomic, "_open", lambda path: _FullDisk(path, "wb"))


def test_a_full_disk_keeps_the_old_file_and_leaves_no_partial_one(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    path.write_text("old: 1\n")
    fill_disk_after(monkeypatch, 3)
    with pytest.raises(DiskFullError, match=r"could not write .*config.yaml: the disk is full \(.* free there\); free"):
        write_text_atomic(path, "new: 2\n" * 100)
    assert path.read_text() == "old: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_torch_save_on_a_full_disk_is_a_disk_full_error_not_unexpected_pos(tmp_path, monkeypatch):
    # torch.save turns the OS error into "RuntimeError: ... unexpected pos ..."; the cause is found.
    fill_disk_after(monkeypatch, 1000)
    with pytest.raises(DiskFullError) as info:
        with atomic_write(tmp_path / "w.pt") as f:
            torch.save({"w": torch.zeros(10_000)}, f)
    assert isinstance(info.value.__cause__, RuntimeError) and is_disk_full(info.value.__cause__)
    assert not list(tmp_path.iterdir())


def test_any_failure_removes_the_temporary_file(tmp_path):
    with pytest.raises(KeyError):
        with atomic_write(tmp_path / "x.json") as f:
            f.write(b"{")
            raise KeyError("caller failed")
    assert not list(tmp_path.iterdir())


def test_stale_temporary_files_are_removed(tmp_path):
    (tmp_path / ".ckpt_00000010.pt.tmp").write_bytes(b"partial, from an older glcic")
    (tmp_path / ".ckpt_00000011.pt.1a2b3c4d.tmp").write_bytes(b"partial")
    (tmp_path / ".notes.txt.tmp").write_bytes(b"someone else's: another pattern")
    (tmp_path / "keep.tmp").write_bytes(b"not ours: no leading dot")
    (tmp_path / "ckpt_00000005.pt").write_bytes(b"complete")
    removed = [p.name for p in remove_stale_temps(tmp_path, "ckpt_*.pt")]
    assert removed == [".ckpt_00000010.pt.tmp", ".ckpt_00000011.pt.1a2b3c4d.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".notes.txt.tmp", "ckpt_00000005.pt", "keep.tmp"]
