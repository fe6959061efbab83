"""What the load and speed benchmarks send to the site: test images of MNIST test digits (canvas
drawings and phone photos) and a user signed up through the real form.

The locust users (benchmarks/locustfile.py), load.py's warm-up and speed.py's gunicorn memory
check all use these, so every benchmark uploads the same files and signs up the same way.
"""

from __future__ import annotations

import io
import re
import sys
import time

import numpy as np
import requests
from PIL import Image

from ml import crop, decode
from ml.data import load_mnist

PASSWORD = "load-test-Pa55word!"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# Each kind of upload: the file name and type a browser would send, and how to draw one.
KINDS = ("canvas", "photo", "photo_12mp")
FILES = {
    "canvas": ("drawing.png", "image/png"),
    "photo": ("IMG_0001.jpg", "image/jpeg"),
    "photo_12mp": ("IMG_0002.jpg", "image/jpeg"),
}


def _ink(digit: np.ndarray, size: int) -> np.ndarray:
    """The digit as ink coverage in [0, 1], scaled to size x size."""
    image = Image.fromarray(digit, mode="L").resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float32) / 255.0


def canvas_png(digit: np.ndarray) -> bytes:
    ink = _ink(digit, 280)
    pixels = (255 * (1 - ink)).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def phone_photo(digit: np.ndarray, width: int, height: int, seed: int) -> bytes:
    """Dark ink on slightly uneven, noisy paper, the digit filling about a third of the frame."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 215 + 25 * (x / width) - 15 * (y / height)
    paper = light + rng.normal(0, 4, size=(height, width)).astype(np.float32)
    side = min(width, height) // 3
    ink = _ink(digit, side)
    top, left = (height - side) // 2, (width - side) // 2
    paper[top : top + side, left : left + side] *= 1 - 0.8 * ink
    rgb = np.stack([paper, paper * 0.98, paper * 0.94], axis=-1).clip(0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def make_images(kind: str, variants: int = 4) -> list[bytes]:
    """``variants`` distinct images of one kind: 280x280 canvas PNGs, 1600x1200 phone JPEGs or
    4000x3000 (12 MP) phone JPEGs, each of its own MNIST test digit."""
    digits, _ = load_mnist("test", limit=variants * len(KINDS))
    offset = KINDS.index(kind) * variants
    chosen = digits[offset : offset + variants]
    if kind == "canvas":
        images = [canvas_png(digit) for digit in chosen]
    else:
        width, height = (1600, 1200) if kind == "photo" else (4000, 3000)
        images = [phone_photo(digit, width, height, i) for i, digit in enumerate(chosen)]
    # Every test image must be one the site accepts, or the failure count would mean nothing.
    for blob in images:
        crop.to_mnist(decode.load_image(blob))
    sizes = ", ".join(f"{len(b) / 1e6:.2f}" for b in images)
    print(f"  {kind}: {len(images)} images, MB: {sizes}", file=sys.stderr)
    return images


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = CSRF_FIELD.search(html)
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


def sign_up_session(
    url: str, username: str, *, timeout: float = 60
) -> tuple[requests.Session, requests.Response, float]:
    """Sign a new user up through the real form; the session sends the CSRF token from then on.

    Returns the session, the sign-up POST's response (302 on success) and that POST's seconds.
    """
    session = requests.Session()
    page = session.get(f"{url}/accounts/signup/", timeout=timeout)
    started = time.perf_counter()
    response = session.post(
        f"{url}/accounts/signup/",
        data={
            "username": username,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "csrfmiddlewaretoken": csrf_token(page.text),
        },
        allow_redirects=False,
        timeout=timeout,
    )
    seconds = time.perf_counter() - started
    if response.status_code == 302:
        token = session.cookies.get("csrftoken") or csrf_token(
            session.get(f"{url}/", timeout=timeout).text
        )
        session.headers["X-CSRFToken"] = token
    return session, response, seconds
