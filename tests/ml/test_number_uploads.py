"""The number generator's handwriting-font kinds (testkit/numbers.py) and the fonts it ships."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFont
from scipy import ndimage as ndi

from testkit.numbers import (
    FONT_KINDS,
    FONTS_DIR,
    font_line_coverage,
    fonts,
    generate,
    glyph_coverage,
)


def test_every_shipped_font_loads_has_ten_digits_and_a_licence() -> None:
    readme = (FONTS_DIR / "README.md").read_text()
    assert len(fonts()) >= 5
    for name, path in fonts().items():
        ImageFont.truetype(str(path), 40)
        for digit in "0123456789":
            cov, _ = glyph_coverage(name, digit, 60)
            assert cov.shape[0] > 10 and cov.max() > 0.9, (name, digit)
        licence = (path.parent / "LICENSE.txt").read_text()
        assert "Open Font License" in licence or "OPEN FONT LICENSE" in licence, name
        assert f"| {name} | {path.name} |" in readme, name


def _runs(cov: np.ndarray) -> list[tuple[int, int]]:
    """Column ranges of ink separated by blank columns."""
    labels, _ = ndi.label(cov.max(axis=0) > 0.05)
    return [(s.start, s.stop) for (s,) in ndi.find_objects(labels)]


def _nearest_digit(crop: np.ndarray, font: str) -> str:
    """The digit of ``font`` whose glyph, at the crop's size, overlaps the crop the most."""

    def norm(a: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(a, mode="F").resize((24, 32), Image.Resampling.BILINEAR))

    target = norm(crop)
    scores = {
        d: -np.abs(norm(glyph_coverage(font, d, 120)[0]) - target).sum() for d in "0123456789"
    }
    return max(scores, key=scores.__getitem__)


@pytest.mark.parametrize("font", sorted(fonts()))
def test_font_line_writes_the_requested_digits_apart(font: str) -> None:
    rng = np.random.default_rng(4)
    text = "4709316285"
    cov = font_line_coverage(text, font, 90, rng, stroke=None, gaps=(0.12, 0.45))
    runs = _runs(cov)
    # Separate columns of ink, one per digit: no two digits touch, none is missing or extra.
    assert len(runs) == len(text)
    read = "".join(_nearest_digit(_crop(cov[:, a:b]), font) for a, b in runs)
    assert read == text


def _crop(cov: np.ndarray) -> np.ndarray:
    ys = np.flatnonzero(cov.max(axis=1) > 0.05)
    return cov[ys[0] : ys[-1] + 1]


def test_font_kinds_give_decodable_uploads_of_two_to_eight_digits() -> None:
    for kind in FONT_KINDS:
        ups = generate(kind, 4, seed=11)
        for up in ups:
            assert 2 <= len(up.text) <= 8 and up.text.isdigit()
            assert up.font in fonts()
            assert up.filename.endswith(f"-{up.font}-{up.text}.{'png' if 'pad' in kind else 'jpg'}")
            with Image.open(io.BytesIO(up.data)) as im:
                im.load()
                assert im.width >= 600
        assert generate(kind, 2, seed=11)[1].data == ups[1].data
        assert generate(kind, 2, seed=12)[1].data != ups[1].data


def test_a_pad_export_shows_one_ink_mark_column_per_digit() -> None:
    for up in generate("font_pad_2to8", 6, seed=5):
        with Image.open(io.BytesIO(up.data)) as im:
            rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
        if rgba[..., 3].min() < 255:
            ink = rgba[..., 3] / 255
        else:
            grey = rgba[..., :3].mean(axis=2) / 255
            # Flat exports are light on dark or dark on light; the ink is the rarer tone.
            ink = grey if np.median(grey) < 0.5 else 1 - grey
        assert len(_runs(ink)) == len(up.text), up.filename
