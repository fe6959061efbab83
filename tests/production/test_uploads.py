"""Hostile uploads, checked from the outside: through the upload view and the stored files."""

import io
import re
import struct
import zlib

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image, ImageCms, PngImagePlugin

from recognizer.models import Prediction

pytestmark = pytest.mark.django_db

STORED_NAME = re.compile(r"^uploads/\d{4}/\d{2}/[0-9a-f]{32}\.png$")


def post(client, data: bytes, name: str = "digit.png"):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(reverse("recognizer:upload"), {"image": upload})


def stored_files() -> list:
    return [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int, height: int) -> bytes:
    """A few hundred bytes that claim width x height pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 8)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", rows)
        + png_chunk(b"IEND", b"")
    )


def png_chunk_types(data: bytes) -> list[bytes]:
    kinds, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kinds.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return kinds


def stored_bytes(prediction: Prediction) -> bytes:
    with prediction.image.open("rb") as fh:
        return fh.read()


def test_pillow_pixel_bound_follows_the_upload_limit():
    assert Image.MAX_IMAGE_PIXELS == settings.UPLOAD_MAX_PIXELS


@pytest.mark.parametrize("size", [(100_000, 100_000), (8_000, 6_000), (1, 45_000_000)])
def test_decompression_bomb_is_refused_with_400_and_nothing_stored(
    client, user, active_model, size
):
    client.force_login(user)
    response = post(client, bomb_png(*size))

    assert response.status_code == 400
    assert "too big" in response.content.decode() or "too many" in response.content.decode()
    assert Prediction.objects.count() == 0
    assert stored_files() == []


def test_exif_gps_is_not_stored(client, user, active_model, digit_png):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Maker"
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)  # GPSLatitude
    exif.get_ifd(0x8825)[1] = "N"
    photo = io.BytesIO()
    Image.open(io.BytesIO(digit_png)).convert("RGB").save(photo, "JPEG", exif=exif.tobytes())
    assert b"SpyCam" in photo.getvalue()
    client.force_login(user)

    assert post(client, photo.getvalue(), "photo.jpg").status_code == 302

    data = stored_bytes(Prediction.objects.get())
    assert b"SpyCam" not in data
    assert b"Exif" not in data
    assert set(png_chunk_types(data)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
    assert Image.open(io.BytesIO(data)).getexif() == {}


def test_icc_profile_and_jpeg_comment_are_not_stored(client, user, active_model, digit_png):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = io.BytesIO()
    Image.open(io.BytesIO(digit_png)).convert("RGB").save(
        photo, "JPEG", icc_profile=profile, comment=b"secret-comment-marker"
    )
    client.force_login(user)

    assert post(client, photo.getvalue(), "photo.jpg").status_code == 302

    prediction = Prediction.objects.get()
    for field in (prediction.image, prediction.thumbnail):
        with field.open("rb") as fh:
            data = fh.read()
        assert b"secret-comment-marker" not in data
        assert set(png_chunk_types(data)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


def test_png_text_chunks_and_trailing_bytes_are_not_stored(client, user, active_model, digit_png):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-text-marker")
    info.add_itxt("Author", "secret-itxt-marker", zip=True)
    with_text = io.BytesIO()
    Image.open(io.BytesIO(digit_png)).save(with_text, "PNG", pnginfo=info)
    payload = with_text.getvalue() + b"<script>secret-trailing-marker</script>" * 20
    client.force_login(user)

    assert post(client, payload).status_code == 302

    data = stored_bytes(Prediction.objects.get())
    for marker in (b"secret-text-marker", b"secret-trailing-marker", b"<script>"):
        assert marker not in data
    assert set(png_chunk_types(data)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
    assert data.endswith(png_chunk(b"IEND", b""))


@pytest.mark.parametrize(
    "filename",
    [
        "../../../../tmp/evil.png",
        "..\\..\\windows\\evil.png",
        "/etc/passwd",
        "uploads/2020/01/existing.png",
        "digit.png.exe",
        "x" * 300 + ".png",
    ],
)
def test_user_filename_never_becomes_a_path(client, user, active_model, digit_png, filename):
    client.force_login(user)

    assert post(client, digit_png, filename).status_code == 302

    prediction = Prediction.objects.get()
    assert STORED_NAME.match(prediction.image.name), prediction.image.name
    assert "/" not in prediction.original_filename
    assert ".." not in prediction.image.name
    for path in stored_files():
        assert path.resolve().is_relative_to(settings.MEDIA_ROOT.resolve())
        assert path.suffix == ".png"
    page = client.get(reverse("recognizer:detail", args=[prediction.pk]))
    assert page.status_code == 200
