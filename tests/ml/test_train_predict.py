"""Training, saving, loading and predicting with a tiny forest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.predict import ModelLoadError, load_model
from ml.train import Artifact


def test_tiny_forest_trains_saves_loads_and_predicts(
    ml_artifact: Artifact, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = mnist_test_small
    model = load_model(ml_artifact.path, expected_sha256=ml_artifact.sha256)
    assert model.version == "test-1"
    assert model.sha256 == ml_artifact.sha256
    assert model.forest.n_jobs == 1
    single = model.predict_proba(X[0].astype(np.float32) / 255)
    assert single.shape == (10,)
    assert single.dtype == np.float64
    assert single.sum() == pytest.approx(1.0)
    batch = model.predict_proba(X.astype(np.float32) / 255)
    assert batch.shape == (len(X), 10)
    np.testing.assert_allclose(batch.sum(axis=1), 1.0)
    # 10 trees on 2000 images still read MNIST far above chance.
    assert (batch.argmax(axis=1) == y).mean() > 0.8


def test_hash_mismatch_refuses_to_load_before_unpickling(
    ml_artifact: Artifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import joblib

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("joblib.load must not run for an unverified file")

    monkeypatch.setattr(joblib, "load", forbidden)
    with pytest.raises(ModelLoadError, match="checksum"):
        load_model(ml_artifact.path, expected_sha256="0" * 64)
