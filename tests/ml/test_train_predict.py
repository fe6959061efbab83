"""Training, saving, loading and predicting with a tiny forest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ml.artifact import Artifact
from ml.evaluate import evaluate
from ml.predict import ModelLoadError, load_model
from ml.train import TrainResult, train_model


def test_tiny_forest_trains_saves_loads_and_predicts(
    ml_artifact: Artifact, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = mnist_test_small
    model = load_model(ml_artifact.path, expected_sha256=ml_artifact.sha256)
    assert model.version == "test-1"
    assert model.sha256 == ml_artifact.sha256
    assert model.forest is None  # served from the flat arrays, nothing unpickled
    single = model.predict_proba(X[0].astype(np.float32) / 255)
    assert single.shape == (10,)
    assert single.dtype == np.float64
    assert single.sum() == pytest.approx(1.0)
    batch = model.predict_proba(X.astype(np.float32) / 255)
    assert batch.shape == (len(X), 10)
    np.testing.assert_allclose(batch.sum(axis=1), 1.0)
    # 10 trees on 2000 images still read MNIST far above chance.
    assert (batch.argmax(axis=1) == y).mean() > 0.8


def test_hash_mismatch_refuses_to_load_before_reading(
    ml_artifact: Artifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import joblib

    from ml.forest_arrays import FlatForest

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unverified file must not be read")

    monkeypatch.setattr(joblib, "load", forbidden)
    monkeypatch.setattr(FlatForest, "load", forbidden)
    with pytest.raises(ModelLoadError, match="checksum"):
        load_model(ml_artifact.path, expected_sha256="0" * 64)


def test_served_probabilities_match_the_training_record(
    ml_artifact: Artifact, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    import joblib

    from ml.features import featurize

    X, _ = mnist_test_small
    images = X.astype(np.float32) / 255
    model = load_model(ml_artifact.path, expected_sha256=ml_artifact.sha256)
    record = ml_artifact.path.parent / ml_artifact.metadata["training_record"]["file"]
    forest = joblib.load(record)

    served = model.predict_proba(images)
    expected = forest.predict_proba(featurize(images))
    assert np.abs(served[:, forest.classes_] - expected).max() <= 1e-6


def test_train_model_reports_progress_and_params(
    mnist_train_small: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = mnist_train_small
    calls: list[tuple[int, int]] = []
    result = train_model(
        X[:500],
        y[:500],
        n_estimators=12,
        max_leaf_nodes=50,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[0] == (0, 12) and calls[-1] == (12, 12)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(result.model.forest.estimators_) == 12
    assert all(t.get_n_leaves() <= 50 for t in result.model.forest.estimators_)
    assert result.params["n_estimators"] == 12 and result.params["max_leaf_nodes"] == 50
    assert result.train_seconds > 0
    assert result.model.forest.n_jobs == 1


def test_extratrees_kind_and_float_input(mnist_train_small: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.ensemble import ExtraTreesClassifier

    X, y = mnist_train_small
    result = train_model(
        X[:300].astype(np.float32) / 255, y[:300], n_estimators=4, kind="extratrees"
    )
    assert isinstance(result.model.forest, ExtraTreesClassifier)


def test_missing_classes_still_give_ten_probabilities(
    mnist_train_small: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = mnist_train_small
    keep = y < 3
    model = train_model(X[keep][:200], y[keep][:200], n_estimators=3).model
    proba = model.predict_proba(X[:5])
    assert proba.shape == (5, 10)
    assert np.all(proba[:, 3:] == 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_evaluate_returns_the_documented_shape(
    ml_result: TrainResult, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = mnist_test_small
    report = evaluate(ml_result.model, X, y)
    assert set(report) == {"accuracy", "n", "per_class", "confusion", "calibration"}
    assert report["n"] == len(y)
    assert set(report["per_class"]) == {str(d) for d in range(10)}
    assert set(report["per_class"]["3"]) == {"precision", "recall", "support"}
    confusion = np.array(report["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == len(y)
    assert report["accuracy"] == pytest.approx(np.trace(confusion) / len(y))
    assert confusion.sum(axis=1).tolist() == [
        report["per_class"][str(d)]["support"] for d in range(10)
    ]
    json.dumps(report)


def test_metadata_records_versions_hash_and_training(ml_artifact: Artifact) -> None:
    meta = json.loads((ml_artifact.path.parent / "metadata.json").read_text())
    import sklearn

    assert meta["sha256"] == ml_artifact.sha256
    assert meta["sklearn"] == sklearn.__version__ and meta["numpy"] == np.__version__
    assert meta["python"] and meta["data_source"] == "MNIST train[:2000]"
    assert meta["params"]["n_estimators"] == 10
    assert meta["train_seconds"] > 0 and "metrics" in meta


def _copy(artifact: Artifact, tmp_path: Path) -> Path:
    for name in ("model.npz", "metadata.json"):
        shutil.copy(artifact.path.parent / name, tmp_path / name)
    return tmp_path / "model.npz"


def test_other_sklearn_version_is_refused(ml_artifact: Artifact, tmp_path: Path) -> None:
    path = _copy(ml_artifact, tmp_path)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["sklearn"] = "0.24.2"
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"scikit-learn 0\.24\.2"):
        load_model(path, expected_sha256=ml_artifact.sha256)


def test_missing_artifact_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "model.npz", expected_sha256="0" * 64)


def test_tampered_file_is_refused(ml_artifact: Artifact, tmp_path: Path) -> None:
    path = _copy(ml_artifact, tmp_path)
    with path.open("ab") as fh:
        fh.write(b"\x00")
    with pytest.raises(ModelLoadError, match="checksum"):
        load_model(path, expected_sha256=ml_artifact.sha256)


def test_training_record_is_saved_with_n_jobs_1(ml_artifact: Artifact) -> None:
    import joblib

    meta = ml_artifact.metadata["training_record"]
    record = ml_artifact.path.parent / meta["file"]
    assert _sha256(record) == meta["sha256"]
    assert joblib.load(record).n_jobs == 1


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_artifact_saved_under_the_old_file_name_still_loads(
    ml_artifact: Artifact, tmp_path: Path, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    # Folders saved before the serving file was named model.npz hold forest.npz.
    assert ml_artifact.path.name == "model.npz"
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(ml_artifact.path, old / "forest.npz")
    shutil.copy(ml_artifact.path.parent / "metadata.json", old / "metadata.json")
    X, _ = mnist_test_small
    expected = load_model(ml_artifact.path, expected_sha256=ml_artifact.sha256).predict_proba(X)
    for path in (old, old / "forest.npz"):
        model = load_model(path, expected_sha256=ml_artifact.sha256)
        np.testing.assert_array_equal(model.predict_proba(X), expected)
