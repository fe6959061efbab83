"""Fixtures for the ml tests: a small test slice, the run's tiny forest, tiny svm and ensemble."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.artifact import Artifact, save_artifact
from ml.data import load_mnist
from ml.train import TrainResult, train_model


@pytest.fixture(scope="session")
def mnist_test_small() -> tuple[np.ndarray, np.ndarray]:
    return load_mnist("test", limit=300)


@pytest.fixture(scope="session")
def ml_result(tiny_result: TrainResult) -> TrainResult:
    # The run's one tiny forest (tests/conftest.py), not a second one trained the same way.
    return tiny_result


@pytest.fixture(scope="session")
def ml_artifact(ml_result: TrainResult, tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    out: Path = tmp_path_factory.mktemp("model")
    return save_artifact(
        ml_result.model,
        out,
        version="test-1",
        params=ml_result.params,
        metrics={"accuracy": 0.0},
        data_source="MNIST train[:2000]",
        train_seconds=ml_result.train_seconds,
    )


@pytest.fixture(scope="session")
def ml_result_model(ml_result: TrainResult):
    return ml_result.model


def _save(result: TrainResult, out: Path, version: str) -> Artifact:
    return save_artifact(
        result.model,
        out,
        version=version,
        params=result.params,
        metrics=result.metrics,
        data_source="MNIST train[:1000]",
        train_seconds=result.train_seconds,
    )


@pytest.fixture(scope="session")
def svm_result(mnist_train_small: tuple[np.ndarray, np.ndarray]) -> TrainResult:
    X, y = mnist_train_small
    return train_model(X[:1000], y[:1000], kind="svm", random_state=0)


@pytest.fixture(scope="session")
def ensemble_result(mnist_train_small: tuple[np.ndarray, np.ndarray]) -> TrainResult:
    X, y = mnist_train_small
    return train_model(X[:1000], y[:1000], kind="ensemble", n_estimators=10, random_state=0)


@pytest.fixture(scope="session")
def svm_artifact(svm_result: TrainResult, tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    return _save(svm_result, tmp_path_factory.mktemp("svm"), "svm-1")


@pytest.fixture(scope="session")
def ensemble_artifact(
    ensemble_result: TrainResult, tmp_path_factory: pytest.TempPathFactory
) -> Artifact:
    return _save(ensemble_result, tmp_path_factory.mktemp("ensemble"), "ensemble-1")


@pytest.fixture(params=["rf", "svm", "ensemble"])
def any_artifact(request: pytest.FixtureRequest) -> Artifact:
    """The tiny artifact of each kind in turn."""
    name = {"rf": "ml_artifact", "svm": "svm_artifact", "ensemble": "ensemble_artifact"}
    return request.getfixturevalue(name[request.param])
