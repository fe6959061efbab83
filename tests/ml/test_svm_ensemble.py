"""The svm and ensemble kinds: served probabilities, artifacts of every kind, calibration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import joblib
import numpy as np
import pytest

from ml.artifact import Artifact
from ml.estimators import choose_weight, holdout_rows, svm_row_indices
from ml.evaluate import calibration, evaluate
from ml.features import featurize
from ml.predict import (
    LOW_CONFIDENCE_THRESHOLD,
    LOW_CONFIDENCE_THRESHOLDS,
    Model,
    ModelLoadError,
    load_model,
)
from ml.svm_arrays import FlatSVM
from ml.train import TrainResult, train_and_save, train_model
from ml.train_cli import main


def _load(artifact: Artifact) -> Model:
    return load_model(artifact.path, expected_sha256=artifact.sha256)


def _record(artifact: Artifact):
    return joblib.load(artifact.path.parent / artifact.metadata["training_record"]["file"])


def _inputs(images: np.ndarray) -> np.ndarray:
    """Test digits, their features, plus features of noise and of blank images."""
    rng = np.random.default_rng(3)
    noise = rng.random((40, 28, 28), dtype=np.float32)
    return np.concatenate([images.astype(np.float32) / 255, noise, np.zeros((2, 28, 28))])


def test_served_svm_probabilities_equal_the_calibrated_estimators(
    svm_artifact: Artifact, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    X = _inputs(mnist_test_small[0])
    model = _load(svm_artifact)
    calibrated = _record(svm_artifact)
    svc = calibrated.calibrated_classifiers_[0].estimator.estimator

    served = model.predict_proba(X)
    expected = calibrated.predict_proba(featurize(X))

    assert model.kind == "svm" and model.flat is None and model.calibrated_svm is None
    assert np.abs(served[:, svc.classes_] - expected).max() <= 1e-6
    np.testing.assert_allclose(
        model.svm.decision_function(featurize(X)), svc.decision_function(featurize(X)), atol=1e-9
    )


def test_flat_svm_matches_sklearn_for_two_and_three_classes(
    mnist_train_small: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = mnist_train_small
    for digits in ((3, 8), (0, 4, 9)):
        keep = np.isin(y, digits)
        result = train_model(X[keep][:400], y[keep][:400], kind="svm")
        features = featurize(X[:200])
        expected = result.model.calibrated_svm.predict_proba(features)
        got = result.model.svm.predict_proba(features)
        assert got.shape == (200, len(digits))
        assert np.abs(got - expected).max() <= 1e-6
        proba = result.model.predict_proba(X[:5])
        assert proba.shape == (5, 10) and np.all(np.delete(proba, digits, axis=1) == 0)


def test_ensemble_averages_its_parts_with_its_weights(
    ensemble_result: TrainResult, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    trained = ensemble_result.model
    model = Model(
        trained.forest,
        kind="ensemble",
        svm=trained.calibrated_svm,
        weights={"forest": 0.3, "svm": 0.7},
        version="mix",
        sha256="",
    )
    X = mnist_test_small[0]
    features = featurize(X)
    forest = trained.forest.predict_proba(features)
    svm = trained.calibrated_svm.predict_proba(features)

    np.testing.assert_allclose(model.predict_proba(X), 0.3 * forest + 0.7 * svm, atol=1e-9)


def test_ensemble_weights_are_recorded_and_served(
    ensemble_artifact: Artifact, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    X = mnist_test_small[0]
    model = _load(ensemble_artifact)
    record = _record(ensemble_artifact)
    weights = ensemble_artifact.metadata["params"]["weights"]
    expected = weights["forest"] * record["forest"].predict_proba(featurize(X))
    expected += weights["svm"] * record["svm"].predict_proba(featurize(X))

    assert model.kind == "ensemble" and model.weights == weights == record["weights"]
    assert weights["forest"] + weights["svm"] == pytest.approx(1.0)
    assert ensemble_artifact.metadata["metrics"]["holdout"]["n"] == 100
    assert np.abs(model.predict_proba(X) - expected).max() <= 1e-6


def test_weight_goes_to_the_part_that_is_right_on_held_out_rows() -> None:
    y = np.array([0, 1, 2, 1])
    columns = {"forest": np.arange(10), "svm": np.arange(10)}
    right = np.full((4, 10), 0.01)
    right[np.arange(4), y] = 0.91
    wrong = np.roll(right, 1, axis=1)

    assert choose_weight({"forest": wrong, "svm": right}, columns, y)[0] == 0.0
    assert choose_weight({"forest": right, "svm": wrong}, columns, y)[0] == 1.0
    assert choose_weight({"forest": right, "svm": right * 0.5 + 0.05}, columns, y)[0] > 0


def test_every_kind_round_trips_and_records_its_kind(
    any_artifact: Artifact, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = mnist_test_small
    meta = json.loads((any_artifact.path.parent / "metadata.json").read_text())
    model = _load(any_artifact)

    assert any_artifact.path.name == "model.npz"
    assert meta["kind"] == model.kind == meta["params"]["kind"]
    assert meta["low_confidence_threshold"] == model.low_confidence_threshold
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 10) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == y).mean() > 0.8
    assert model.predict_proba(X[0].astype(np.float32) / 255).shape == (10,)


def _copy(artifact: Artifact, tmp_path: Path) -> Path:
    for name in ("model.npz", "metadata.json"):
        shutil.copy(artifact.path.parent / name, tmp_path / name)
    return tmp_path / "model.npz"


def test_every_kind_refuses_a_tampered_file(any_artifact: Artifact, tmp_path: Path) -> None:
    path = _copy(any_artifact, tmp_path)
    with path.open("ab") as fh:
        fh.write(b"\x00")
    with pytest.raises(ModelLoadError, match="checksum"):
        load_model(path, expected_sha256=any_artifact.sha256)


def test_every_kind_refuses_other_library_versions(any_artifact: Artifact, tmp_path: Path) -> None:
    path = _copy(any_artifact, tmp_path)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["numpy"] = "1.26.4"
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"numpy 1\.26\.4"):
        load_model(path, expected_sha256=any_artifact.sha256)


def _rewrite(path: Path, change) -> str:
    """Rewrite the arrays of an npz with ``change(arrays)``; return the new file's sha256."""
    import hashlib

    with np.load(path) as bundle:
        arrays = dict(bundle)
    change(arrays)
    with path.open("wb") as fh:
        np.savez(fh, **arrays)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["svm", "ensemble"])
def test_changed_arrays_are_refused_even_with_a_matching_file_hash(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    artifact = request.getfixturevalue(f"{name}_artifact")
    path = _copy(artifact, tmp_path)

    def nudge(arrays: dict[str, np.ndarray]) -> None:
        arrays["svm_dual_coef"] = arrays["svm_dual_coef"] * 1.01

    sha256 = _rewrite(path, nudge)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["sha256"] = sha256
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="sha256"):
        load_model(path, expected_sha256=sha256)


def test_a_pickled_array_is_never_loaded(svm_artifact: Artifact, tmp_path: Path) -> None:
    path = _copy(svm_artifact, tmp_path)

    def objects(arrays: dict[str, np.ndarray]) -> None:
        arrays["svm_classes"] = np.array([object()] * 10, dtype=object)

    sha256 = _rewrite(path, objects)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["sha256"] = sha256
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"allow_pickle|Python objects"):
        load_model(path, expected_sha256=sha256)


def test_metadata_kind_must_match_the_file(svm_artifact: Artifact, tmp_path: Path) -> None:
    path = _copy(svm_artifact, tmp_path)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["kind"] = "ensemble"
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="kind"):
        load_model(path, expected_sha256=svm_artifact.sha256)


def test_threshold_comes_from_the_metadata_then_the_kind(
    svm_artifact: Artifact, tmp_path: Path
) -> None:
    assert LOW_CONFIDENCE_THRESHOLD == 0.5 == LOW_CONFIDENCE_THRESHOLDS["rf"]
    assert _load(svm_artifact).low_confidence_threshold == LOW_CONFIDENCE_THRESHOLDS["svm"]
    path = _copy(svm_artifact, tmp_path)
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["low_confidence_threshold"] = 0.77
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    assert load_model(path, expected_sha256=svm_artifact.sha256).low_confidence_threshold == 0.77
    del meta["low_confidence_threshold"], meta["kind"]
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    model = load_model(path, expected_sha256=svm_artifact.sha256)
    assert model.kind == "svm"
    assert model.low_confidence_threshold == LOW_CONFIDENCE_THRESHOLDS["svm"]


def test_calibration_of_a_known_case() -> None:
    # Four predictions at 0.95 (three right) and two at 0.55 (both right), one at 0.05.
    confidence = np.array([0.95, 0.95, 0.95, 0.95, 0.55, 0.55, 0.05])
    correct = np.array([True, True, True, False, True, True, False])

    report = calibration(confidence, correct)

    bins = report["bins"]
    assert len(bins) == 10 and bins[0]["lower"] == 0.0 and bins[9]["upper"] == 1.0
    assert [b["count"] for b in bins] == [1, 0, 0, 0, 0, 2, 0, 0, 0, 4]
    assert bins[9]["confidence"] == pytest.approx(0.95) and bins[9]["accuracy"] == 0.75
    assert bins[5]["accuracy"] == 1.0 and bins[1]["accuracy"] is None
    expected = (4 * 0.20 + 2 * 0.45 + 1 * 0.05) / 7
    assert report["ece"] == pytest.approx(expected)
    assert calibration(np.array([1.0, 0.0]), np.array([True, False]))["ece"] == 0.0


def test_evaluate_reports_calibration_bins_that_add_up(
    svm_result: TrainResult, mnist_test_small: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = mnist_test_small
    report = evaluate(svm_result.model, X, y)["calibration"]
    assert sum(b["count"] for b in report["bins"]) == len(y)
    assert 0 <= report["ece"] < 0.1
    json.dumps(report)


def test_svm_progress_moves_and_max_svm_train_keeps_the_heaviest_rows(
    mnist_train_small: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = mnist_train_small
    weight = np.ones(600)
    weight[:100] = 3.0
    calls: list[tuple[int, int]] = []
    result = train_model(
        X[:600],
        y[:600],
        kind="svm",
        sample_weight=weight,
        max_svm_train=200,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[0] == (0, 100) and calls[-1] == (100, 100) and len(calls) >= 3
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert result.params["n_svm_train"] == 200 and result.params["n_holdout"] == 60
    assert result.params["kind"] == "svm" and result.params["calibration"] == "temperature"
    svc = result.model.calibrated_svm.calibrated_classifiers_[0].estimator.estimator
    assert svc.shape_fit_[0] == 200


def test_the_svm_cap_keeps_heavier_rows_first() -> None:
    rng = np.random.default_rng(0)
    weight = np.ones(1000)
    weight[[5, 500, 999]] = 2.0

    kept = svm_row_indices(1000, 10, weight, rng)

    assert len(kept) == 10 and {5, 500, 999} <= set(kept.tolist())
    assert svm_row_indices(1000, None, weight, rng).tolist() == list(range(1000))
    assert len(set(svm_row_indices(1000, 10, None, rng).tolist())) == 10


def test_unknown_kind_is_an_error(mnist_train_small: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = mnist_train_small
    with pytest.raises(ValueError, match="kind"):
        train_model(X[:50], y[:50], kind="knn")


def test_train_and_save_evaluates_and_writes_one_artifact(
    mnist_train_small: tuple[np.ndarray, np.ndarray],
    mnist_test_small: tuple[np.ndarray, np.ndarray],
    tmp_path: Path,
) -> None:
    X, y = mnist_train_small
    result, artifact, metrics = train_and_save(
        X[:500],
        y[:500],
        kind="svm",
        out_dir=tmp_path,
        version="v1",
        data_source="MNIST train[:500]",
        test=mnist_test_small,
    )
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert metrics["accuracy"] > 0.8 and "ece" in metrics["calibration"]
    assert meta["metrics"] == json.loads(json.dumps(metrics))
    assert meta["version"] == "v1" and meta["kind"] == "svm" and meta["sha256"] == artifact.sha256
    assert result.params == meta["params"]
    assert _load(artifact).version == "v1"


def test_cli_trains_the_asked_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--out", str(tmp_path), "--kind", "svm", "--limit", "300", "--version", "c1"]
    assert main([*args, "--digitness", "none"]) == 0
    assert "svm c1: accuracy" in capsys.readouterr().out
    assert json.loads((tmp_path / "metadata.json").read_text())["kind"] == "svm"


def test_the_held_out_rows_hold_every_class_even_when_few() -> None:
    # 300 rows, 30 held out: at random, a class of 12 rows is missed about one time in 4.
    y = np.repeat(np.arange(10), [12, 60, 30, 30, 30, 30, 30, 30, 30, 18])
    for seed in range(20):
        held, rest = holdout_rows(y, 30, np.random.default_rng(seed))
        assert len(held) == 30 and len(rest) == 270
        assert not set(held) & set(rest)
        assert set(y[held]) == set(range(10))
    # A class with one row cannot be both trained on and held out: plain random then.
    held, _ = holdout_rows(np.array([0] * 20 + [1]), 3, np.random.default_rng(0))
    assert len(held) == 3


def test_flat_svm_refuses_inconsistent_arrays(svm_result: TrainResult) -> None:
    arrays = svm_result.model.svm.arrays()
    arrays["n_support"] = arrays["n_support"] + 1
    with pytest.raises(ValueError, match="n_support"):
        FlatSVM(**arrays)


def test_forest_sizes_default_per_kind(mnist_train_small: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = mnist_train_small
    ensemble = train_model(X[:300], y[:300], kind="ensemble")
    assert ensemble.params["n_estimators"] == 30 == len(ensemble.model.forest.estimators_)
    assert train_model(X[:100], y[:100], max_leaf_nodes=8).params["n_estimators"] == 100
