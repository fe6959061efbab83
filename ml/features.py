"""Feature extraction applied by the model before its forest: deskewed pixels plus a small HOG.

``featurize`` is deterministic, vectorised over the batch and cheap (well under 1 ms per image),
so training and serving share it and a fast forest walker can call it unchanged.
"""

from __future__ import annotations

import numpy as np

# Bump when featurize changes: artifacts record it and refuse to load with a different one.
FEATURES_VERSION = "deskew-hog-v1"

_SIZE = 28
_CELL = 4
_BINS = 8
_PAD = _SIZE // 2
_EPS = np.float32(1e-6)
_CHUNK = 4096


def _as_batch(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) * np.float32(1 / 255)
    else:
        x = x.astype(np.float32, copy=False)
    if x.shape[-2:] != (_SIZE, _SIZE):
        raise ValueError(f"expected images of shape (n, 28, 28), got {x.shape}")
    return x.reshape(-1, _SIZE, _SIZE)


def deskew(x: np.ndarray) -> np.ndarray:
    """Remove the slant of each digit by a horizontal shear from its second moments.

    ``x`` float32 (n, 28, 28) in [0, 1]; returns float32 (n, 28, 28), centre of mass at x = 14.
    """
    x = _as_batch(x)
    n = x.shape[0]
    coords = np.arange(_SIZE, dtype=np.float32)
    row_mass = x.sum(axis=2)
    col_mass = x.sum(axis=1)
    total = row_mass.sum(axis=1) + _EPS
    cy = (row_mass * coords).sum(axis=1) / total
    cx = (col_mass * coords).sum(axis=1) / total
    dy = coords[None, :] - cy[:, None]
    dx = coords[None, :] - cx[:, None]
    var_y = (row_mass * dy * dy).sum(axis=1) / total
    cov = np.einsum("nij,ni,nj->n", x, dy, dx) / total
    # Slants beyond 45 degrees are not slant but a different digit shape; do not undo them.
    alpha = np.clip(cov / (var_y + _EPS), -1.0, 1.0)
    shift = alpha[:, None] * dy + (cx - _SIZE / 2)[:, None]  # (n, rows): source x offset
    floor = np.floor(shift)
    frac = (shift - floor).astype(np.float32)[:, :, None]
    base = np.clip(floor.astype(np.int64), -_PAD, _PAD - 1)[:, :, None] + _PAD
    padded = np.pad(x, ((0, 0), (0, 0), (_PAD, _PAD + 1)))
    idx = base + np.arange(_SIZE)[None, None, :]
    left = np.take_along_axis(padded, idx, axis=2)
    right = np.take_along_axis(padded, idx + 1, axis=2)
    out = (1 - frac) * left + frac * right
    return out.reshape(n, _SIZE, _SIZE).astype(np.float32, copy=False)


def hog(x: np.ndarray) -> np.ndarray:
    """Histogram of unsigned gradient orientations on 4x4-pixel cells, L2-normalised per image.

    ``x`` float32 (n, 28, 28); returns float32 (n, 7 * 7 * 8).
    """
    x = _as_batch(x)
    n = x.shape[0]
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    gy = padded[:, 2:, 1:-1] - padded[:, :-2, 1:-1]
    gx = padded[:, 1:-1, 2:] - padded[:, 1:-1, :-2]
    mag = np.sqrt(gx * gx + gy * gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi) * np.float32(_BINS / np.pi)
    lower = np.floor(angle)
    upper_w = (angle - lower).astype(np.float32)
    lower_bin = lower.astype(np.int64) % _BINS
    upper_bin = (lower_bin + 1) % _BINS
    cells = _SIZE // _CELL
    hist = np.empty((n, cells, cells, _BINS), dtype=np.float32)
    for b in range(_BINS):
        weight = np.where(lower_bin == b, 1 - upper_w, 0) + np.where(upper_bin == b, upper_w, 0)
        per_pixel = (mag * weight).reshape(n, cells, _CELL, cells, _CELL)
        hist[..., b] = per_pixel.sum(axis=(2, 4))
    flat = hist.reshape(n, cells * cells * _BINS)
    norm = np.sqrt((flat * flat).sum(axis=1, keepdims=True)) + _EPS
    return (flat / norm).astype(np.float32)


def featurize(x: np.ndarray) -> np.ndarray:
    """Model features for a batch of ``to_mnist`` outputs.

    ``x`` float32 (n, 28, 28) in [0, 1] (uint8 0..255 accepted; a single (28, 28) image is treated
    as n = 1). Returns float32 (n, F): the 784 deskewed pixels followed by 392 HOG values.
    """
    x = _as_batch(x)
    parts = []
    # Chunks bound the temporary memory of the HOG step on the full training set.
    for start in range(0, max(len(x), 1), _CHUNK):
        straight = deskew(x[start : start + _CHUNK])
        parts.append(
            np.concatenate([straight.reshape(len(straight), _SIZE * _SIZE), hog(straight)], axis=1)
        )
    return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
