"""Digit shapes MNIST lacks, for the retraining demo and its tests."""

import io

import numpy as np
from PIL import Image, ImageDraw


def slashed_zero_png(rng: np.random.Generator, size: int = 280) -> bytes:
    """A square zero with a diagonal slash, dark ink on white paper, with random size, position,
    pen width and wobble."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)

    def jitter() -> float:
        return float(rng.uniform(-12, 12))

    pen = int(rng.uniform(14, 24))
    cx, cy = size / 2 + jitter(), size / 2 + jitter()
    height = float(rng.uniform(150, 190))
    width = height * 0.55
    left, right = cx - width / 2 + jitter(), cx + width / 2 + jitter()
    top, bottom = cy - height / 2 + jitter(), cy + height / 2 + jitter()
    draw.rectangle(
        [min(left, right - 20), min(top, bottom - 20), right, bottom], outline=0, width=pen
    )
    draw.line([(cx - width / 2, cy + height / 2), (cx + width / 2, cy - height / 2)], 0, pen)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
