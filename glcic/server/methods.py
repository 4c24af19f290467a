"""The methods a request's ``method`` field takes on this server, for the API, its schema and the page.

``glcic`` (the network: the model the ``model`` field names) and every classical method
of :data:`glcic.options.CLASSICAL_METHODS` whose library loads here: a method whose library
is missing (OpenCV without its contrib module has no ``fsr``, an installation without
PyPatchMatch's library no ``patchmatch``) is not offered, neither by
``GET /api/v1/methods`` nor in the schema, and a request that names it gets a 422 that
says why (:func:`glcic.classical.unavailable_methods`). The page builds its *Method* menu from ``GET /api/v1/methods``, so it offers
exactly what the server can run.
"""

from __future__ import annotations

import functools
import reprlib
from typing import Any

from glcic.options import CLASSICAL_METHODS, DEFAULT_METHOD, METHODS
from glcic.server.errors import ApiError

LABELS = {
    "glcic": "glcic (the network)",
    "telea": "Telea (OpenCV)",
    "ns": "Navier-Stokes (OpenCV)",
    "biharmonic": "biharmonic (scikit-image)",
    "mean": "mean colour",
    "fsr": "FSR, frequency-selective (slow)",
    "patchmatch": "PatchMatch (copies patches)",
}
"""How the page names each method; a method missing here is shown by its name."""


@functools.cache
def runnable_methods() -> tuple[str, ...]:
    """Every method a request may name on this server, in :data:`~glcic.options.METHODS` order:
    the network and the classical methods whose libraries load here
    (:func:`glcic.classical.available_methods`; fsr needs OpenCV's contrib module,
    patchmatch PyPatchMatch's native library)."""
    from glcic.classical import available_methods

    return ("glcic", *(m for m in CLASSICAL_METHODS if m in available_methods()))


def describe_methods() -> dict[str, Any]:
    """``GET /api/v1/methods``: the default and, per runnable method, its name, label and kind."""
    return {
        "default": DEFAULT_METHOD,
        "methods": [
            {
                "name": m,
                "label": LABELS.get(m, m),
                "kind": "network" if m == "glcic" else "classical",
                "default": m == DEFAULT_METHOD,
            }
            for m in runnable_methods()
        ],
    }


def check_method(value: Any) -> str:
    """``value`` if this server can run it.

    Raises:
        ApiError: 422 ``invalid_option``: not a method at all (listing those it can run), or
            one whose library cannot load on this server.
    """
    runnable = runnable_methods()
    if value in runnable:
        return value
    choices = ", ".join(map(repr, runnable))
    if value in METHODS:
        from glcic.classical import unavailable_methods

        why = unavailable_methods().get(value, "its library did not load")
        raise ApiError(
            422,
            "invalid_option",
            f"method {value!r} cannot run on this server ({why.rstrip('.')}); "
            f"pick one of {choices} (GET /api/v1/methods lists them)",
        )
    raise ApiError(
        422, "invalid_option", f"method must be one of {choices}; got {reprlib.repr(value)}"
    )
