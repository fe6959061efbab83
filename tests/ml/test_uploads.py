"""The realistic-upload generator used by the benchmark."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from testkit.uploads import BLANK_KINDS, KINDS, generate


def test_generator_is_deterministic_by_seed(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    a = generate("drawing_transparent_colour", 3, seed=5, images=images, labels=labels)
    b = generate("drawing_transparent_colour", 3, seed=5, images=images, labels=labels)
    c = generate("drawing_transparent_colour", 3, seed=6, images=images, labels=labels)
    assert [u.data for u in a] == [u.data for u in b]
    assert [u.data for u in a] != [u.data for u in c]


def test_every_kind_produces_a_decodable_file(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, labels = mnist_test_small
    for kind in KINDS:
        if kind.startswith("photo_") and kind not in ("photo_blue_pen", "photo_exif_rotated"):
            continue  # photos are slow to render; the benchmark covers every kind
        (upload,) = generate(kind, 1, seed=1, images=images, labels=labels)
        with Image.open(io.BytesIO(upload.data)) as im:
            im.load()
        assert (upload.label is None) == (kind in BLANK_KINDS)
        assert len(upload.data) < 5 * 1024 * 1024
