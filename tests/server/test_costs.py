"""What a request may cost in memory (glcic.server.costs), and what the defaults add up to."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from glcic.server import ServerSettings, create_app
from glcic.server.costs import (
    FLOOR_BYTES,
    GIB,
    check_cost,
    memory_plan,
    request_budget,
    request_cost,
)
from glcic.server.errors import ApiError
from tests.server.conftest import INPAINT, assert_error, encode, files, random_image, rect_mask

MP40 = 40_000_000


def test_the_default_request_at_the_pixel_limit_is_the_budget():
    assert request_budget(MP40) == request_cost("glcic", "auto", MP40, 0) + 128 * 1024 * 1024
    assert 2.6 * GIB < request_budget(MP40) < 2.8 * GIB  # measured 2.6 GiB (docs/serving.md)
    assert request_budget(1000) == FLOOR_BYTES
    for method in ("telea", "ns", "mean"):  # a 40 MP photo with a quarter of it hole
        check_cost(method, "auto", (7296, 5480), 10_000_000, 0.5, MP40)
    check_cost("glcic", "auto", (7296, 5480), 30_000_000, 0.5, MP40)  # the hole does not count


@pytest.mark.parametrize(
    ("method", "strategy", "size", "hole", "match"),
    [
        (
            "glcic",
            "original",
            (5472, 3648),
            1000,
            "strategy 'original' on 5472x3648 with a hole",
        ),
        (
            "biharmonic",
            "auto",
            (4000, 3000),
            600_000,
            "method 'biharmonic' on 4000x3000 with a hole of 600,000",
        ),
        ("fsr", "auto", (7296, 5480), 3_000_000, "method 'fsr'"),
        ("patchmatch", "auto", (7296, 5480), 1000, "method 'patchmatch' on 7296x5480"),
    ],
)
def test_costly_requests_are_refused_with_what_they_need(method, strategy, size, hole, match):
    with pytest.raises(ApiError, match=match) as e:
        check_cost(method, strategy, size, hole, 0.5, MP40)
    assert (e.value.status, e.value.error) == (413, "too_costly")
    assert "GiB; this server lets one request use 2.7 GiB" in e.value.detail


def test_original_costs_in_proportion_to_the_network_width():
    assert request_cost("glcic", "original", 1_000_000, 0, 1.0) == 2 * request_cost(
        "glcic", "original", 1_000_000, 0, 0.5
    )


def test_a_costly_request_is_413_before_any_work(pipe):
    settings = ServerSettings(max_pixels=200_000, max_upload_mb=2)  # budget: the 256 MiB floor
    image, mask = random_image(300, 400, seed=1), np.zeros((300, 400), np.uint8)
    mask[50:250, 50:300] = 255  # 50,000 hole pixels x 7.5 KB: 375 MB
    with TestClient(create_app(pipeline=pipe, settings=settings)) as client:
        r = client.post(
            INPAINT, files=files(encode(image), encode(mask)), data={"method": "biharmonic"}
        )
        assert_error(r, 413, "too_costly", "would need about 0.4 GiB")
        small = rect_mask(300, 400, box=(10, 10, 40, 40))
        r = client.post(
            INPAINT, files=files(encode(image), encode(small)), data={"method": "biharmonic"}
        )
        assert r.status_code == 200, r.text


def test_the_defaults_fit_in_four_gib():
    plan = memory_plan(ServerSettings())
    assert plan["workers"] == request_budget(MP40)  # one worker
    assert plan["bodies"] == (16 + 8 + 1) * 20 * 1024 * 1024
    assert plan["total"] < 4 * GIB  # 3.9


def test_serve_warns_when_the_machine_has_less(monkeypatch):
    from glcic.commands.serve import memory_line
    from glcic.server import costs

    monkeypatch.setattr(costs, "available_bytes", lambda: 8 * GIB)
    assert "WARNING" not in memory_line(ServerSettings())
    line = memory_line(ServerSettings(max_concurrent=4))
    assert "x 4 worker(s)" in line and "WARNING: only 8.0 GiB is available" in line


def test_refine_costs_its_window():
    from glcic.server.costs import REFINE_PER_WINDOW_PIXEL, refine_window

    hole = np.zeros((3000, 4000), bool)
    assert refine_window(hole) == 0
    hole[1000:1100, 1500:1600] = True  # a 100 px box grown by 99 px on each side
    assert refine_window(hole) == 298 * 298
    hole[1000:1750, 1000:2000] = True  # 1000 x 750, grown by 999 px: clipped at the top
    window = refine_window(hole)
    assert window == 2748 * 2998
    base = request_cost("glcic", "auto", 12_000_000, 1)
    assert request_cost("glcic", "refine", 12_000_000, 1, 0.5, window) == base + REFINE_PER_WINDOW_PIXEL * window
    check_cost("glcic", "refine", (4000, 3000), 750_000, 0.5, MP40, window)  # 1.1 GiB: runs
    check_cost("glcic", "refine", (7296, 5480), 90_000, 0.5, MP40, 2_900_000)  # a small deep hole
    with pytest.raises(ApiError, match="strategy 'refine' on 7296x5480"):
        check_cost("glcic", "refine", (7296, 5480), 2_000_000, 0.5, MP40, 27_000_000)
