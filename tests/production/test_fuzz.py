"""Random bytes and random images at the upload endpoints: the only answers are success or 400."""

import io

import numpy as np
import pytest
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

pytestmark = pytest.mark.django_db

# (url name, file field, success statuses). Add the API here when it exists:
# ("api:prediction-list", "image", {201}),
ENDPOINTS = [("recognizer:upload", "image", {302})]

MODES = ["1", "L", "LA", "P", "P+transparency", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]
ALLOWED = ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"]
REFUSED = ["ICO", "PPM", "PDF", "SVG"]
MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00", b"RIFF"]

sizes = st.one_of(
    st.tuples(st.integers(1, 96), st.integers(1, 96)),
    st.tuples(st.integers(24, 160), st.integers(24, 160)),
    st.sampled_from([(1, 1), (2000, 1), (1, 2000), (3000, 3), (28, 28), (300, 200)]),
)


def make_image(mode: str, size: tuple[int, int], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    base = mode.split("+")[0]
    if base in ("I;16", "I", "F"):
        if base == "I;16":
            pixels = rng.integers(0, 65536, (h, w)).astype("<u2")
            return Image.frombytes("I;16", size, pixels.tobytes())
        dtype, top = (np.int32, 70000) if base == "I" else (np.float32, 1.0)
        return Image.fromarray((rng.random((h, w)) * top).astype(dtype))
    # Blocks of ink on paper, so that some images pass the digit checks and reach the model.
    grey = np.full((h, w), 255, np.uint8)
    grey[h // 6 : max(h // 6 + 1, 5 * h // 6), 2 * w // 5 : max(2 * w // 5 + 1, 3 * w // 5)] = 0
    noise = rng.integers(0, 40, (h, w), dtype=np.uint8)
    image = Image.fromarray(np.clip(grey.astype(int) + noise, 0, 255).astype(np.uint8))
    if base == "P":
        image = image.convert("RGB").quantize(8)
        if mode.endswith("transparency"):
            image.info["transparency"] = 0
        return image
    return image.convert(base)


def encode(image: Image.Image, fmt: str) -> bytes:
    if fmt == "SVG":
        return b'<svg xmlns="http://www.w3.org/2000/svg"><text>7</text></svg>'
    buffer = io.BytesIO()
    try:
        image.save(
            buffer, format=fmt, **({"transparency": 0} if "transparency" in image.info else {})
        )
    except (OSError, ValueError, KeyError, TypeError):
        # This format cannot hold this mode: send the closest it can.
        buffer = io.BytesIO()
        fallback = image.convert("L" if image.mode in ("I;16", "I", "F", "1", "LA") else "RGB")
        if fmt == "ICO":
            # ICO holds at most 256x256 and refuses sizes it cannot scale to (e.g. 2000x1).
            fallback = fallback.resize((min(fallback.width, 256), min(fallback.height, 256)))
            fallback.save(buffer, format=fmt, sizes=[fallback.size])
        else:
            fallback.save(buffer, format=fmt)
    return buffer.getvalue()


images = st.builds(
    lambda mode, size, seed, fmt, cut: (
        lambda data: data[: max(1, int(len(data) * cut))] if cut < 1 else data
    )(encode(make_image(mode, size, seed), fmt)),
    st.sampled_from(MODES),
    sizes,
    st.integers(0, 2**32 - 1),
    st.sampled_from(ALLOWED + REFUSED),
    st.sampled_from([1.0, 1.0, 1.0, 0.5, 0.9]),
)
payloads = st.one_of(
    st.builds(lambda magic, tail: magic + tail, st.sampled_from(MAGIC), st.binary(max_size=512)),
    # Twice as many images as random bytes: images go deeper, into decoding and the model.
    images,
    images,
)


@pytest.fixture
def logged_in(client, user, active_model):
    client.force_login(user)
    return client


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=payloads, name=st.sampled_from(["d.png", "x.jpg", "", "a.svg", "../z.gif"]))
def test_uploads_answer_success_or_400_never_500(logged_in, payload, name):
    for url_name, field, success in ENDPOINTS:
        upload = io.BytesIO(payload)
        upload.name = name or "upload"
        response = logged_in.post(reverse(url_name), {field: upload})

        event(f"{url_name} answered {response.status_code}")
        assert response.status_code in success | {400}, (url_name, response.status_code)
