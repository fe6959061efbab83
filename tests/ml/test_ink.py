"""ink: the ink strength map and its hysteresis masks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from ml import ink as ink_module


def _reference_ink_map(planes: np.ndarray) -> tuple[np.ndarray, float]:
    # The plain statement of the ink map: every side in full, every channel a strided view.
    resid = [planes[..., c] - ink_module._fit_background(planes[..., c]) for c in range(3)]
    lum = (resid[0] + resid[1] + resid[2]) / 3
    dark = -np.minimum(np.minimum(resid[0], resid[1]), resid[2])
    light = np.maximum(np.maximum(resid[0], resid[1]), resid[2])
    sample = lum[::2, ::2].ravel()
    sigma = float(1.4826 * np.median(np.abs(sample - np.median(sample)))) + 1e-3
    floor = np.float32(4 * sigma + 0.05)
    dark_mass = float(np.maximum(dark[::2, ::2] - floor, 0).sum())
    light_mass = float(np.maximum(light[::2, ::2] - floor, 0).sum())
    return (dark if dark_mass >= light_mass else light), sigma


@pytest.mark.parametrize("ink_level", [0.1, 0.9])
def test_ink_map_is_the_plain_computation_bit_for_bit(ink_level):
    rng = np.random.default_rng(7)
    planes = (0.5 + 0.05 * rng.standard_normal((83, 121, 3))).astype(np.float32)
    planes[30:50, 40:45] = ink_level  # dark ink on grey, or light
    planes += np.linspace(0, 0.2, 121, dtype=np.float32)[None, :, None]  # uneven light
    ink, sigma = ink_module._ink_map(planes)
    expected, expected_sigma = _reference_ink_map(planes)
    assert ink.tobytes() == expected.tobytes()
    assert sigma == expected_sigma
    assert float(ink[40, 42]) > 0.3  # the stroke is ink whichever its polarity


def test_hysteresis_numbers_its_components_as_a_fresh_label_would():
    rng = np.random.default_rng(3)
    for _ in range(50):
        ink = ndi.gaussian_filter(rng.random((int(rng.integers(5, 80)), 90)), 1.5)
        mask, labels, n = ink_module._hysteresis(ink, low=0.5, high=0.55)
        fresh, count = ndi.label(mask, structure=np.ones((3, 3), dtype=bool))
        assert n == count
        assert np.array_equal(labels, fresh)
        # Only components reaching above high are kept, each whole.
        weak, _ = ndi.label(ink > 0.5, structure=np.ones((3, 3), dtype=bool))
        for i in np.unique(weak[weak > 0]):
            assert mask[weak == i].all() == (ink[weak == i] > 0.55).any()
