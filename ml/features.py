"""Feature extraction applied by the model before its forest: HOG of the deskewed digit.

``featurize`` is deterministic, vectorised over the batch and cheap (well under 1 ms per image),
so training and serving share it and a fast forest walker can call it unchanged.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np

# Bump when featurize changes: artifacts record it and refuse to load with a different one.
FEATURES_VERSION = "deskew-hog2-v2"

_SIZE = 28
_CELL = 4
_BINS = 8
_PAD = _SIZE // 2
_EPS = np.float32(1e-6)
_CHUNK = 4096
_MEMO_ROWS = 64
_memo = threading.local()


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


def _gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Central-difference gradients as (magnitude, m*cos 2t, m*sin 2t), each (n, 28, 28)."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    gy = padded[:, 2:, 1:-1] - padded[:, :-2, 1:-1]
    gx = padded[:, 1:-1, 2:] - padded[:, 1:-1, :-2]
    mag = np.sqrt(gx * gx + gy * gy) + _EPS
    # Doubling the angle makes orientation unsigned (a stroke's two edges count alike) and
    # avoids arctan: cos/sin of 2t come straight from the gradient components.
    return mag, (gx * gx - gy * gy) / mag, 2 * gx * gy / mag


def _normalised(hist: np.ndarray) -> np.ndarray:
    flat = hist.reshape(hist.shape[0], int(np.prod(hist.shape[1:])))
    return flat / (np.sqrt((flat * flat).sum(axis=1, keepdims=True)) + _EPS)


def hog(x: np.ndarray) -> np.ndarray:
    """Histograms of oriented gradients on 4x4-pixel cells and on 8x8-pixel cells, 8 bins each.

    ``x`` float32 (n, 28, 28); returns float32 (n, 7*7*8 + 4*4*8 = 520), each scale
    L2-normalised per image (so ink contrast does not matter, only stroke shape).
    """
    x = _as_batch(x)
    n = x.shape[0]
    mag, cos2, sin2 = _gradients(x)
    fine = np.empty((n, 7, 7, _BINS), dtype=np.float32)
    for b in range(_BINS):
        angle = 2 * np.pi * b / _BINS
        # Response m*cos^2(t - t_b) within 45 degrees of bin b's orientation: a soft bin.
        tuned = np.maximum(cos2 * np.float32(np.cos(angle)) + sin2 * np.float32(np.sin(angle)), 0)
        tuned = tuned * tuned / mag
        fine[..., b] = tuned.reshape(n, 7, 4, 7, 4).sum(axis=(2, 4))
    # Coarse cells pool 2x2 fine cells (8x8 pixels); the last row and column overlap their
    # neighbours so that 4x4 coarse cells cover the 7x7 fine grid.
    coarse_index = ((0, 2), (2, 4), (4, 6), (5, 7))
    coarse = np.stack(
        [
            np.stack([fine[:, r0:r1, c0:c1].sum(axis=(1, 2)) for c0, c1 in coarse_index], axis=1)
            for r0, r1 in coarse_index
        ],
        axis=1,
    )
    return np.concatenate([_normalised(fine), _normalised(coarse)], axis=1)


def featurize(x: np.ndarray) -> np.ndarray:
    """Model features for a batch of ``to_mnist`` outputs.

    ``x`` float32 (n, 28, 28) in [0, 1] (uint8 0..255 accepted; a single (28, 28) image is treated
    as n = 1). Returns float32 (n, 520): HOG at two cell sizes of the deskewed digit. Raw pixels
    are left out: on MNIST they added training time and size for no accuracy over the HOG.
    """
    x = _as_batch(x)
    if len(x) > _MEMO_ROWS:
        return _featurize(x)
    # A reading's marks are featurized by the digit model and again by the "not a digit"
    # detector: the last small batch of each thread is kept, keyed by its pixels.
    key = hashlib.blake2b(x.tobytes(), digest_size=16).digest()
    last = getattr(_memo, "last", None)
    if last is None or last[0] != key or last[1].shape[0] != len(x):
        last = _memo.last = (key, _featurize(x))
    return last[1].copy()


def _featurize(x: np.ndarray) -> np.ndarray:
    # Chunks bound the temporary memory of the HOG step on the full training set.
    parts = [hog(deskew(x[start : start + _CHUNK])) for start in range(0, max(len(x), 1), _CHUNK)]
    return np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
