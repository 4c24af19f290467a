"""One training process per run folder (:mod:`glcic.training.run_lock`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from glcic.cli import main
from glcic.training.run_lock import LOCK_NAME, RunFolderBusyError, run_folder_lock
from tests.training.conftest import tiny_overrides

pytest.importorskip("fcntl", reason="the lock needs fcntl (not on Windows)")


def _sets(image_folder) -> list[str]:
    kv = tiny_overrides(image_folder, **{"train.t_c": "2", "train.t_d": "1", "train.t_train": "3"})
    return [a for x in kv for a in ("--set", x)]


def test_a_second_run_in_a_busy_folder_is_refused_and_touches_nothing(image_folder, tmp_path, capsys):
    run = tmp_path / "run"
    partial = run / "checkpoints" / ".ckpt_00000100.pt.x1y2.tmp"  # what the first run may be writing
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half a checkpoint")
    with run_folder_lock(run):
        assert main(["train", "--config", "cpu", "--run-dir", str(run), *_sets(image_folder)]) == 2
        err = capsys.readouterr().err
        assert f"is being trained by process {os.getpid()}, started 20" in err
        assert f"kill {os.getpid()}" in err and "--resume" in err
        assert partial.is_file()  # a fresh start would have deleted it as a killed run's leftover
        assert not (run / "config.yaml").exists() and not (run / "stats.jsonl").exists()
    # Free again: the same command trains, and leaves the lock file empty and unlocked.
    assert main(["train", "--config", "cpu", "--run-dir", str(run), *_sets(image_folder)]) == 0
    assert (run / "checkpoints" / "ckpt_00000003.pt").is_file()
    assert (run / LOCK_NAME).read_text() == ""
    with run_folder_lock(run):
        pass


def test_the_lock_goes_with_a_killed_process(tmp_path):
    run = tmp_path / "run"
    code = (
        "import sys, time; from pathlib import Path; from glcic.training.run_lock import run_folder_lock\n"
        f"with run_folder_lock(Path({str(run)!r})):\n    print('held', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(RunFolderBusyError, match=f"process {child.pid}, started"), run_folder_lock(run):
            pass
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
    deadline = time.monotonic() + 10
    while True:  # the kernel drops the lock with the process's last descriptor
        try:
            with run_folder_lock(run):
                break
        except RunFolderBusyError:
            assert time.monotonic() < deadline, "the lock outlived its process"
            time.sleep(0.05)


def test_other_ranks_take_no_lock(tmp_path):
    run = tmp_path / "run"
    with run_folder_lock(run), run_folder_lock(run, main=False):
        pass
