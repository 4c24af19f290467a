"""A small version of benchmarks/load_test.py, over real HTTP (glcic.server.testing.serve_in_thread)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from glcic.server import ServerSettings, create_app, serve_in_thread

REPO = Path(__file__).resolve().parents[2]


def _load_test_module():
    name = "glcic_benchmarks_load_test"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / "load_test.py")
        sys.modules[name] = importlib.util.module_from_spec(
            spec
        )  # dataclasses look themselves up here
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def test_load_smoke(pipe):
    """24 mixed valid and invalid requests, 4 at a time, over real HTTP: no 5xx, all answered right."""
    load_test = _load_test_module()
    app = create_app(pipeline=pipe, settings=ServerSettings(max_concurrent=2, queue=8))
    with serve_in_thread(app) as url:
        report = load_test.run_load(url, requests=24, concurrency=4, seed=0)
    assert report.server_errors == 0, report.failures
    assert report.failures == []
    assert report.valid_ok == report.valid > 0
    assert report.invalid_ok == report.invalid > 0
