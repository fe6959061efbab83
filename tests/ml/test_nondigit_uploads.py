"""The generator of uploads that are no digit (testkit/nondigits.py, testkit/shape_paths.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from testkit import nondigits
from testkit.nondigits import CATEGORIES, KINDS, LETTERS, WORDS, NonDigit, coverage, generate
from testkit.numbers import fonts

# Letters and symbols a reader could take for a digit, or for part of a number.
DIGIT_LIKE_LETTERS = set("OoQDIlijJSsZzBbgqGCcLT")
NUMBER_PARTS = set("-.,/|()_'\"$")


@pytest.fixture(scope="module")
def uploads() -> dict[str, list[NonDigit]]:
    return {kind: generate(kind, 10, seed=5) for kind in KINDS}


def test_every_category_appears_in_ten_uploads_in_turn(uploads) -> None:
    for kind, made in uploads.items():
        assert [u.category for u in made] == list(CATEGORIES) * 2, kind
        assert all(u.kind == kind and u.name for u in made)
        assert len({u.filename for u in made}) == len(made)


def test_uploads_decode_at_the_sizes_of_the_digit_uploads(uploads) -> None:
    for kind, made in uploads.items():
        for upload in made:
            with Image.open(io.BytesIO(upload.data)) as im:
                im.load()
                assert im.format == ("JPEG" if kind == "photo" else "PNG"), upload.filename
                assert upload.filename.endswith(".jpg" if kind == "photo" else ".png")
                if kind == "photo":
                    assert im.width in (800, 1024, 1280), upload.filename
                    assert im.height in (im.width, im.width * 3 // 4, int(im.width * 0.5625))
                else:
                    assert im.width in (600, 800, 1000), upload.filename
                    assert 0.3 * im.width - 1 <= im.height <= 1.25 * im.width
                # Something is drawn: the ink stands out from the paper or the empty canvas.
                channels = np.asarray(im.convert("RGBA"), dtype=np.float32)
                assert channels.std(axis=(0, 1)).max() > 5, upload.filename


def test_same_seed_same_uploads_other_seed_other_uploads(uploads) -> None:
    assert generate("pad", 10, seed=5) == uploads["pad"]
    # Marks are drawn in turn from one generator: the first three of ten are those of three.
    assert generate("photo", 3, seed=5) == uploads["photo"][:3]
    other = generate("pad", 3, seed=6)
    assert [u.data for u in other] != [u.data for u in uploads["pad"][:3]]


def test_categories_can_be_chosen() -> None:
    made = generate("pad", 3, seed=2, categories=("dots",))
    assert [u.category for u in made] == ["dots"] * 3
    with pytest.raises(ValueError):
        generate("pad", 1, categories=("digit",))
    with pytest.raises(ValueError):
        generate("scan", 1)


def test_letters_and_symbols_never_look_like_digits_or_parts_of_numbers() -> None:
    assert not set(LETTERS) & DIGIT_LIKE_LETTERS
    assert set("".join(WORDS)) <= set(LETTERS)
    rng = np.random.default_rng(7)
    for _ in range(60):
        name, _ = coverage("letter", rng, 40, 0.08)
        kind, text = name.split(" ", 1)
        assert kind in ("letter", "word") and text, name
        assert set(text) <= set(LETTERS), name
        name, _ = coverage("symbol", rng, 40, None)
        assert name.startswith("symbol ") and len(name) == len("symbol x"), name
        assert name[-1] not in NUMBER_PARTS | DIGIT_LIKE_LETTERS and not name[-1].isdigit()


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_mark_has_ink_at_about_the_size_asked(category: str) -> None:
    rng = np.random.default_rng([3, len(category)])
    names = set()
    for stroke in (0.04, 0.1, None) * 4:
        name, cov = coverage(category, rng, 80, stroke)
        names.add(name)
        assert cov.dtype == np.float32 and cov.ndim == 2, name
        assert cov.min() >= 0 and cov.max() <= 1, name
        assert cov.max() > 0.9 and (cov > 0.5).sum() > 40, name
        # About a digit big: lines of dots and words run wider, but not off the page.
        assert 8 <= max(cov.shape) <= 80 * 25 and min(cov.shape) <= 80 * 3, (name, cov.shape)
    assert len(names) >= 5, names  # varied, not one mark over and over


def test_missing_glyphs_are_told_from_drawn_ones() -> None:
    for font in fonts():
        assert nondigits._has_glyph(font, "K"), font
        # Another private-use character: drawn as the missing glyph, or not at all.
        assert not nondigits._has_glyph(font, "\ue123"), font


def test_the_command_writes_the_files(tmp_path) -> None:
    nondigits.main(["--out", str(tmp_path), "--n", "2", "--seed", "1", "--kind", "pad"])
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(u.filename for u in generate("pad", 2, seed=1))
