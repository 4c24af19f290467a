"""Repository-level checks: lint, README commands, presets, CLI wiring."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from glcic.config import load_config, preset_names

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed (pip install -e '.[test]')")
def test_ruff_is_clean():
    r = subprocess.run(["ruff", "check", "glcic", "tests", "benchmarks", "hubconf.py"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, flags=re.S)
    test_cmd = next(b.strip() for b in blocks if "pytest" in b)
    assert test_cmd in ci


def test_readme_says_what_the_browser_test_needs():
    readme = (REPO / "README.md").read_text()
    assert "chromium" in readme and "Playwright" in readme and "`.ci/run` installs it" in readme
    assert "apt-get install" in (REPO / ".ci" / "run").read_text() and "chromium" in (REPO / ".ci" / "run").read_text()


def test_inference_docs_describe_the_shipped_models_as_they_are():
    """Issue 23: docs/inference.md still described the 64 px face model as the shipped one."""
    import json

    docs = (REPO / "docs" / "inference.md").read_text()
    for name in ("scenes", "faces"):
        resolution = json.loads((REPO / "glcic" / "weights" / name / "config.json").read_text())["resolution"]
        assert resolution == 128 and f"`{name}`" in docs
    flat = " ".join(docs.split())  # the sentences, whatever the line breaks
    assert "128 px for both shipped models" in flat and "8 px for the shipped models" in flat
    assert "4 px for the shipped model" not in flat and "64 px faces for the shipped model" not in flat
    for line in (ln for ln in docs.splitlines() if "glcic-face64-celeba" in ln):
        assert "v1" in line  # only where it is named as the former model


def test_every_preset_resolves():
    assert {"paper", "report", "cpu", "face64"} <= set(preset_names())
    for name in preset_names():
        cfg = load_config(name)
        assert cfg.mask.hole_max <= cfg.mask.local_size <= cfg.data.size


@pytest.mark.parametrize("preset", ["paper", "report", "cpu", "face64"])
def test_dry_run_prints_the_resolved_config(preset, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "glcic.cli", "train", "--config", preset, "--run-dir", str(tmp_path), "--dry-run",
         "--set", "train.batch_size=4"],
        capture_output=True, text=True, cwd=REPO,
    )
    assert r.returncode == 0, r.stderr
    assert "batch_size: 4" in r.stdout and "t_train:" in r.stdout
    assert not any(tmp_path.iterdir())  # nothing written


def test_cli_lists_every_command():
    r = subprocess.run([sys.executable, "-m", "glcic.cli", "--help"], capture_output=True, text=True)
    for cmd in ("train", "plot", "export", "export-onnx", "inpaint", "evaluate", "serve"):
        assert cmd in r.stdout, cmd


def _glcic_imports(path: Path) -> set[str]:
    """Every ``glcic...`` module a source file imports, at any depth (lazy imports included)."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("glcic"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("glcic"))
    return names


def test_models_import_one_way():
    """The inference copy builds on the network, never the reverse; models import no training,
    inference pipeline or server code."""
    models = REPO / "glcic" / "models"
    assert "glcic.models.inference" not in _glcic_imports(models / "completion.py")
    for path in models.glob("*.py"):
        bad = {m for m in _glcic_imports(path) if m.split(".")[1:2] in (["training"], ["pipeline"], ["server"], ["strategies"])}
        assert not bad, f"{path.name} imports {sorted(bad)}"
