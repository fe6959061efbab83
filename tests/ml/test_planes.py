"""planes: the working size and the robust statistics, equal to numpy's own."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from ml import crop
from ml.planes import fit_long_side, fitted_long_side, mean_plane, median, percentile


@given(
    values=hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=st.integers(1, 3000),
        elements=st.floats(-1e3, 1e3, width=32),
    )
)
@settings(max_examples=300, deadline=None)
def test_fast_median_is_numpys_median(values):
    fast, reference = median(values), np.median(values)
    assert fast.dtype == reference.dtype
    assert fast == reference  # the same float; only the sign of a zero may differ


@given(
    values=hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=st.integers(1, 3000),
        elements=st.floats(-1e3, 1e3, width=32),
    ),
    q=st.sampled_from([0, 10, 50, 90, 100]),
)
@settings(max_examples=300, deadline=None)
def test_fast_percentile_is_numpys_percentile(values, q):
    spread = float(np.abs(values).max()) if values.size else 0.0
    fast = float(percentile(values, q))
    assert fast == pytest.approx(float(np.percentile(values, q)), rel=1e-12, abs=1e-12 * spread)


@pytest.mark.parametrize("channels", [1, 3])
def test_channel_mean_is_numpys_mean_bit_for_bit(channels):
    planes = np.random.default_rng(channels).random((97, 131, channels), dtype=np.float32)
    assert mean_plane(planes).tobytes() == planes.mean(axis=2).tobytes()


@pytest.mark.parametrize("long_side", [30, 95, 96, 150, 160, 161, 319, 320, 321, 1000, 4000])
def test_fitted_long_side_predicts_fit_long_side(long_side):
    image = Image.new("L", (long_side, max(1, long_side // 2)))
    fitted = fit_long_side(image, crop.REFINE_LONG_SIDE)
    assert fitted_long_side(long_side, crop.REFINE_LONG_SIDE) == pytest.approx(
        max(fitted.size), abs=1
    )
