"""Flagged 1s added to training: MNIST's 1s are bare strokes, most of the world's have a flag."""

from __future__ import annotations

import numpy as np
import pytest

from ml.augment import flag_one, with_flagged_ones
from ml.crop import normalise_crop
from ml.train import train_model
from testkit.numbers import glyph_coverage

FLAGGED_FONTS = ("caveat", "indie-flower", "patrick-hand", "reenie-beanie")


def _reach_left(a: np.ndarray) -> int:
    """How far ink reaches left of the rightmost ink, in the rows of the top third: a bare
    stroke's width, a flag's length."""
    rows = np.flatnonzero((a > 80).any(axis=1))
    top = rows[: max(1, len(rows) // 3)]
    return max(int(np.flatnonzero(a[r] > 80)[-1] - np.flatnonzero(a[r] > 80)[0]) for r in top)


def test_a_flag_is_drawn_down_and_to_the_left_of_the_top_of_the_one(mnist_train_small) -> None:
    X, y = mnist_train_small
    rng = np.random.default_rng(0)
    grew = 0
    ones = np.flatnonzero(y == 1)[:40]
    for i in ones:
        flagged = flag_one(X[i], rng)
        assert flagged.shape == (28, 28) and flagged.dtype == np.uint8
        grew += _reach_left(flagged) > _reach_left(X[i])
    assert grew >= 0.85 * len(ones)


def test_copies_of_a_share_of_the_ones_are_appended_with_their_weights(mnist_train_small) -> None:
    X, y = mnist_train_small
    weight = np.arange(len(y), dtype=np.float64)
    X2, y2, w2 = with_flagged_ones(X, y, share=0.5, sample_weight=weight)
    n_ones = int((y == 1).sum())
    added = len(y2) - len(y)
    assert added == round(0.5 * n_ones)
    assert np.array_equal(X2[: len(y)], X) and np.array_equal(y2[: len(y)], y)
    assert set(y2[len(y) :]) == {1}
    assert set(w2[len(y) :]) <= set(weight[y == 1])
    _, y3, w3 = with_flagged_ones(X, y, share=0.0, sample_weight=weight)
    assert len(y3) == len(y) and w3 is weight


@pytest.fixture(scope="module")
def font_ones() -> np.ndarray:
    inputs = []
    for font in FLAGGED_FONTS:
        for size in (40, 56, 72):
            cov, _ = glyph_coverage(font, "1", size)
            inputs.append(normalise_crop(cov.astype(np.float32)))
    return np.stack(inputs)


def test_a_model_trained_with_flagged_ones_reads_handwriting_fonts_ones(
    mnist_train_small, font_ones
) -> None:
    # The fonts' 1s have flags (and one a foot); the model never saw them, only drawn flags.
    X, y = mnist_train_small
    plain = train_model(X, y, n_estimators=30, random_state=0).model
    Xa, ya, _ = with_flagged_ones(X, y, share=0.5)
    flagged = train_model(Xa, ya, n_estimators=30, random_state=0).model
    p_plain = plain.predict_proba(font_ones)[:, 1]
    p_flagged = flagged.predict_proba(font_ones)[:, 1]
    assert (p_flagged > p_plain).mean() >= 0.75
    assert (flagged.predict_proba(font_ones).argmax(axis=1) == 1).sum() > (
        plain.predict_proba(font_ones).argmax(axis=1) == 1
    ).sum()
