"""featurize: the cheap, deterministic step between to_mnist and the forest."""

from __future__ import annotations

import numpy as np

from ml.features import deskew, featurize


def test_featurize_shape_dtype_and_determinism(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, _ = mnist_test_small
    x = images[:20].astype(np.float32) / 255
    features = featurize(x)
    assert features.shape == (20, 520) and features.dtype == np.float32
    assert np.isfinite(features).all()
    np.testing.assert_array_equal(features, featurize(x.copy()))
    # One image alone gives the same row as in a batch, and uint8 input means the same.
    np.testing.assert_allclose(featurize(x[3]), features[3:4], atol=1e-6)
    np.testing.assert_allclose(featurize(images[:20]), features, atol=1e-6)


def test_featurize_ignores_ink_contrast(mnist_test_small: tuple[np.ndarray, np.ndarray]) -> None:
    images, _ = mnist_test_small
    x = images[:5].astype(np.float32) / 255
    np.testing.assert_allclose(featurize(0.6 * x), featurize(x), atol=1e-4)


def test_deskew_straightens_a_slanted_bar() -> None:
    bar = np.zeros((28, 28), dtype=np.float32)
    for row in range(4, 24):
        col = 14 + (14 - row) // 2  # leaning right by 1 pixel every 2 rows
        bar[row, col - 1 : col + 2] = 1
    straight = deskew(bar[None])[0]
    cols = [np.average(np.arange(28), weights=straight[r]) for r in range(6, 22)]
    assert np.ptp(cols) < 1.5
    slanted_cols = [np.average(np.arange(28), weights=bar[r]) for r in range(6, 22)]
    assert np.ptp(slanted_cols) > 6


def test_empty_batch() -> None:
    assert featurize(np.zeros((0, 28, 28), dtype=np.float32)).shape == (0, 520)


def test_a_repeated_batch_gets_its_own_copy_and_new_pixels_new_features(
    mnist_test_small: tuple[np.ndarray, np.ndarray],
) -> None:
    images, _ = mnist_test_small
    x = images[:3].astype(np.float32) / 255
    first = featurize(x)
    expected = first.copy()
    first[:] = 0
    np.testing.assert_array_equal(featurize(x.copy()), expected)
    changed = x.copy()
    changed[1, 10:14, 10:14] = 1 - changed[1, 10:14, 10:14]
    rows = featurize(changed)
    np.testing.assert_array_equal(rows[[0, 2]], expected[[0, 2]])
    assert not np.array_equal(rows[1], expected[1])
    np.testing.assert_array_equal(featurize(x), expected)
