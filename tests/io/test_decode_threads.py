"""Decoding in many threads at once (``ImageDataset``'s cache, the server's workers) leaves the
process's warning filters as it found them (``glcic.io.metadata.WARNINGS_LOCK``)."""

from __future__ import annotations

import threading
import warnings

import numpy as np
from PIL import Image

from glcic.io.images import load_image


def test_decode_threads_leave_the_warning_filters_as_they_found_them(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        before = list(warnings.filters)

        def work() -> None:
            for _ in range(300):
                load_image(path, max_pixels=None, metadata=False)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Without the lock, one thread's catch_warnings restored filters saved inside another's
        # ("ignore" everything, for the EXIF check): every later warning was silenced.
        assert warnings.filters == before
