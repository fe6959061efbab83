"""Load a trained artifact safely and predict digit probabilities from ``to_mnist`` images."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ml.features import FEATURES_VERSION, featurize
from ml.forest_arrays import FlatForest

# The serving artifact: the forest as flat arrays in one .npz, loaded without unpickling.
ARTIFACT_NAME = "forest.npz"
# The joblib pickle of the fitted scikit-learn forest: the training record, never served.
RECORD_NAME = "model.joblib"
METADATA_NAME = "metadata.json"
N_CLASSES = 10

# Predictions whose top probability is below this are flagged "low confidence". Chosen from
# benchmarks/accuracy.py (MNIST test plus 2,400 generated uploads, default model; table in
# docs/benchmarks.md): at 0.5 about 4% of predictions are flagged, the flagged ones are right
# only about 70% of the time, the rest about 99.5%, and two thirds of all errors are flagged.
# Higher thresholds flag many correct answers for few extra errors caught.
LOW_CONFIDENCE_THRESHOLD = 0.5


class ModelLoadError(Exception):
    """The artifact cannot be used: missing, tampered with, or made by other library versions."""


class Model:
    """A fitted forest plus the feature step it was trained with.

    ``flat`` is the forest as a `FlatForest`, which serves every prediction (bit-identical to
    scikit-learn's ``predict_proba``, about 100x faster per image). ``forest`` is the fitted
    scikit-learn RandomForest/ExtraTrees when the model was trained in this process (``None``
    when loaded from an artifact). ``featurize`` maps (n, 28, 28) float32 images to the
    forest's (n, F) float32 input.
    """

    def __init__(
        self,
        forest: Any,
        *,
        version: str,
        sha256: str,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(forest, FlatForest):
            self.forest = None
            self.flat = forest
        else:
            self.forest = forest
            self.flat = FlatForest.from_sklearn(forest)
        self.version = version
        self.sha256 = sha256
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.featurize = featurize
        classes = np.asarray(self.flat.classes).astype(np.int64)
        if classes.min() < 0 or classes.max() >= N_CLASSES:
            raise ModelLoadError(f"the model's classes {classes.tolist()} are not digits 0-9")
        self._columns = classes

    def __repr__(self) -> str:
        return f"<Model {self.version} sha256={self.sha256[:12]}>"

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities for ``to_mnist`` output.

        ``x`` float32 (28, 28) -> float64 (10,); or (n, 28, 28) -> (n, 10). Rows sum to 1;
        column d is the probability of digit d (0 for digits absent from the training data).
        """
        x = np.asarray(x)
        single = x.ndim == 2
        batch = x.reshape(1, 28, 28) if single else x
        if batch.ndim != 3 or batch.shape[1:] != (28, 28):
            raise ValueError(f"expected (28, 28) or (n, 28, 28) images, got shape {x.shape}")
        proba = self.flat.predict_proba(featurize(batch))
        out = np.zeros((len(batch), N_CLASSES), dtype=np.float64)
        out[:, self._columns] = proba
        out /= out.sum(axis=1, keepdims=True)
        return out[0] if single else out


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_versions(metadata: dict[str, Any]) -> None:
    import sklearn

    saved_sklearn = metadata.get("sklearn")
    if saved_sklearn != sklearn.__version__:
        raise ModelLoadError(
            f"The model was trained with scikit-learn {saved_sklearn}, but {sklearn.__version__} "
            "is installed. Retrain the model (python manage.py train_model)."
        )
    saved_numpy = str(metadata.get("numpy", ""))
    if saved_numpy.split(".")[0] != np.__version__.split(".")[0]:
        raise ModelLoadError(
            f"The model was saved with numpy {saved_numpy}, but {np.__version__} is installed. "
            "Retrain the model."
        )
    if metadata.get("features") != FEATURES_VERSION:
        raise ModelLoadError(
            f"The model expects features {metadata.get('features')!r}, but this code computes "
            f"{FEATURES_VERSION!r}. Retrain the model."
        )


def load_model(path: Path, *, expected_sha256: str) -> Model:
    """Load the serving artifact written by ``ml.train.save_artifact``.

    ``path`` is the ``forest.npz`` file (or its directory); ``metadata.json`` must sit next to
    it. The file's sha256 is checked against ``expected_sha256`` before it is read, then the
    scikit-learn/numpy/feature versions are checked. The arrays are read with
    ``allow_pickle=False``, so loading cannot execute code. Raises ``ModelLoadError`` with a
    human message on any problem.
    """
    path = Path(path)
    if path.is_dir():
        path = path / ARTIFACT_NAME
    if not path.is_file():
        raise ModelLoadError(f"The model file {path.name} does not exist. Train a model first.")
    actual = file_sha256(path)
    if actual != (expected_sha256 or "").lower():
        raise ModelLoadError(
            f"The model file {path.name} does not match its recorded checksum "
            f"(expected {expected_sha256}, found {actual}); refusing to load it."
        )
    meta_path = path.parent / METADATA_NAME
    try:
        metadata = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise ModelLoadError(f"The model's metadata file {meta_path.name} is missing.") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"The model's metadata file {meta_path.name} is unreadable: {exc}"
        ) from exc
    if not isinstance(metadata, dict):
        raise ModelLoadError(f"The model's metadata file {meta_path.name} is not a JSON object.")
    if metadata.get("sha256") not in (None, actual):
        raise ModelLoadError(f"The metadata in {meta_path.name} belongs to a different model file.")
    _check_versions(metadata)

    try:
        flat = FlatForest.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"The model file {path.name} could not be loaded: {exc}") from exc
    return Model(flat, version=str(metadata.get("version", "")), sha256=actual, metadata=metadata)
