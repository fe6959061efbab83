"""load_image: every bad upload is an ImageRejected with the right code, never another error."""

from __future__ import annotations

import contextlib
import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ml.decode import ALLOWED_FORMATS, ImageRejected, load_image
from tests.ml.helpers import encode


def _photo(size: tuple[int, int] = (64, 48)) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims the given size; its pixel data is a few bytes of nothing."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"hello, this is plainly text and not an image at all", "not_an_image"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n", "unsupported_format"),
        (encode(_photo((32, 32)), "ICO"), "unsupported_format"),
        (encode(_photo(), "PPM"), "unsupported_format"),
        (_png_claiming(8000, 6000), "too_many_pixels"),
        (encode(_photo((200, 150)), "JPEG")[:600], "truncated"),
        (encode(_photo((200, 150)), "PNG")[:-200], "truncated"),
    ],
    ids=["empty", "text", "pdf", "ico", "ppm", "48-megapixel header", "cut-jpeg", "cut-png"],
)
def test_bad_uploads_are_refused_with_the_right_code(data: bytes, code: str) -> None:
    with pytest.raises(ImageRejected) as info:
        load_image(data)
    assert info.value.code == code
    # A sentence for people, not a traceback.
    assert info.value.message.endswith(".")
    assert len(info.value.message.split()) >= 4


def test_too_large_file_is_refused_without_reading_all_of_it() -> None:
    class Stream(io.BytesIO):
        read_sizes: list[int] = []

        def read(self, size: int | None = -1) -> bytes:
            self.read_sizes.append(-1 if size is None else size)
            return super().read(size)

    stream = Stream(b"\xff" * 5000)
    with pytest.raises(ImageRejected) as info:
        load_image(stream, max_bytes=1000)
    assert info.value.code == "too_large"
    assert stream.read_sizes == [1001]
    assert "1000 bytes" in info.value.message


@pytest.mark.parametrize("side", [7_000, 20_000])  # over our limit; over Pillow's error limit
def test_bombs_are_refused_without_touching_the_warning_filters(side: int) -> None:
    # The server decodes in threads: process-wide warning filters must not change per upload.
    before = list(warnings.filters)
    with pytest.raises(ImageRejected) as info:
        load_image(_png_claiming(side, side))
    assert info.value.code == "too_many_pixels"
    assert warnings.filters == before


def test_pixel_limit_is_checked_from_the_header() -> None:
    with pytest.raises(ImageRejected) as info:
        load_image(encode(_photo((100, 100)), "PNG"), max_pixels=9_999)
    assert info.value.code == "too_many_pixels"


@pytest.mark.parametrize("fmt", ALLOWED_FORMATS)
def test_each_allowed_format_decodes_fully(fmt: str) -> None:
    im = load_image(io.BytesIO(encode(_photo(), fmt)))
    assert im.size == (64, 48)
    # Fully decoded: pixel access needs no file any more.
    assert im.getpixel((10, 10)) is not None


def test_gif_gives_its_first_frame() -> None:
    frames = [Image.new("L", (30, 30), 200).convert("P"), Image.new("L", (30, 30), 10).convert("P")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    im = load_image(data)
    assert np.asarray(im.convert("L")).mean() > 150


def test_exif_orientation_is_applied() -> None:
    upright = Image.new("RGB", (120, 60), (255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    im = load_image(encode(stored, "JPEG", exif=exif))
    assert im.size == (120, 60)


def test_big_jpeg_is_decoded_at_reduced_scale() -> None:
    big = Image.new("RGB", (4000, 3000), (240, 240, 240))
    im = load_image(encode(big, "JPEG", quality=80))
    assert 480 <= max(im.size) <= 1000
    assert im.size[0] / im.size[1] == pytest.approx(4 / 3, rel=0.01)


_VALID = [encode(_photo((40, 30)), fmt) for fmt in ALLOWED_FORMATS]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_raise_only_image_rejected(data: bytes) -> None:
    with contextlib.suppress(ImageRejected):
        load_image(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_VALID),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    st.integers(0, 10_000),
)
def test_damaged_images_raise_only_image_rejected(
    data: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    damaged = bytearray(data)
    for position, value in flips:
        damaged[position % len(damaged)] = value
    with contextlib.suppress(ImageRejected):
        load_image(bytes(damaged[: max(1, len(damaged) - cut)]))
