"""Load a trained model and predict digit probabilities from ``to_mnist`` images.

A model is one of four kinds on the same ``featurize`` features: ``rf`` and ``extratrees`` (a
forest, served as a `FlatForest`), ``svm`` (an RBF SVC with temperature-calibrated
probabilities, served as a `FlatSVM`) and ``ensemble`` (both, their probabilities averaged with
weights chosen on held-out data). Every kind is served from one ``.npz`` file read without
pickle.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ml.digitness import Digitness, DigitSVM
from ml.features import FEATURES_VERSION, featurize
from ml.forest_arrays import FlatForest
from ml.svm_arrays import FlatSVM
from ml.wholeness import wholeness_features

Kind = Literal["rf", "extratrees", "svm", "ensemble"]
KINDS: tuple[str, ...] = ("rf", "extratrees", "svm", "ensemble")
FOREST_KINDS = ("rf", "extratrees")

# The serving file of every kind: the flat-forest format, or "digits-model" for the others.
ARTIFACT_NAME = "model.npz"
# Its name before it was named for what it holds; artifact folders saved then still load.
LEGACY_ARTIFACT_NAME = "forest.npz"
# The joblib pickle of the fitted scikit-learn estimator(s): the training record, never served.
RECORD_NAME = "model.joblib"
METADATA_NAME = "metadata.json"
N_CLASSES = 10

MODEL_FORMAT = "digits-model"
MODEL_FORMAT_VERSION = 1
_META_KEY = "meta_json"

# A prediction whose top probability is below this is flagged "low confidence".
LOW_CONFIDENCE_THRESHOLD = 0.5
# Per kind (artifacts record theirs in metadata.json; this is the fallback).
LOW_CONFIDENCE_THRESHOLDS: dict[str, float] = {
    "rf": LOW_CONFIDENCE_THRESHOLD,
    "extratrees": LOW_CONFIDENCE_THRESHOLD,
    "svm": 0.98,
    "ensemble": 0.96,
}


class ModelLoadError(Exception):
    """The artifact cannot be used: missing, tampered with, or made by other library versions."""


class Model:
    """A fitted model of one kind plus the feature step it was trained with.

    Serving parts: ``flat``, a `FlatForest` (kinds ``rf``, ``extratrees`` and ``ensemble``, else
    ``None``) and ``svm``, a `FlatSVM` (kinds ``svm`` and ``ensemble``, else ``None``);
    ``weights`` is ``{"forest": w, "svm": 1 - w}`` for the ensemble (one part has weight 1
    otherwise). ``forest`` and ``calibrated_svm`` are the fitted scikit-learn estimators when
    the model was trained in this process (``None`` when loaded from an artifact).
    ``featurize`` maps (n, 28, 28) float32 images to the parts' (n, F) float32 input.
    ``low_confidence_threshold``: flag predictions whose top probability is below it.
    """

    def __init__(
        self,
        forest: Any = None,
        *,
        kind: str | None = None,
        svm: FlatSVM | Any = None,
        weights: dict[str, float] | None = None,
        version: str,
        sha256: str,
        metadata: dict[str, Any] | None = None,
        wholeness: FlatForest | Any = None,
        digitness: Digitness | None = None,
    ) -> None:
        if isinstance(forest, FlatForest) or forest is None:
            self.forest = None
            self.flat = forest
        else:
            self.forest = forest
            self.flat = FlatForest.from_sklearn(forest)
        if isinstance(svm, FlatSVM) or svm is None:
            self.calibrated_svm = None
            self.svm = svm
        else:
            self.calibrated_svm = svm
            self.svm = FlatSVM.from_sklearn(svm)
        if self.flat is None and self.svm is None:
            raise ValueError("a model needs a forest, an SVM or both")
        self.metadata: dict[str, Any] = dict(metadata or {})
        if kind is None:
            kind = self.metadata.get("kind") or self.metadata.get("params", {}).get("kind")
            kind = kind or ("svm" if self.flat is None else "rf")
        if kind not in KINDS:
            raise ValueError(f"unknown model kind {kind!r}")
        parts = {"forest": self.flat is not None, "svm": self.svm is not None}
        if parts != {"forest": kind != "svm", "svm": kind in ("svm", "ensemble")}:
            raise ValueError(f"a {kind} model cannot have the parts {parts}")
        self.kind: str = kind
        if kind == "ensemble":
            if weights is None or set(weights) != {"forest", "svm"}:
                raise ValueError("an ensemble needs weights {'forest': w, 'svm': 1 - w}")
            self.weights = {name: float(w) for name, w in weights.items()}
            values = list(self.weights.values())
            if not (all(0 <= w <= 1 for w in values) and sum(values) > 0):
                raise ValueError(f"the ensemble weights {self.weights} are not a mix")
        else:
            self.weights = {"svm" if kind == "svm" else "forest": 1.0}
        self.version = version
        self.sha256 = sha256
        self.featurize = featurize
        # Each part's classes, the digit columns its probabilities fill.
        self.columns: dict[str, np.ndarray] = {}
        for name, part in (("forest", self.flat), ("svm", self.svm)):
            if part is None:
                continue
            classes = np.asarray(part.classes).astype(np.int64)
            if classes.min() < 0 or classes.max() >= N_CLASSES:
                raise ModelLoadError(f"the model's classes {classes.tolist()} are not digits 0-9")
            self.columns[name] = classes
        self.wholeness: FlatForest | None = None
        if wholeness is not None:
            self.set_wholeness(wholeness)
        # The "not a digit" detector (ml.digitness); a model without one refuses nothing.
        self.digitness: Digitness | None = digitness
        threshold = self.metadata.get("low_confidence_threshold")
        self.low_confidence_threshold: float = float(
            threshold if threshold is not None else LOW_CONFIDENCE_THRESHOLDS[kind]
        )

    def __repr__(self) -> str:
        return f"<Model {self.kind} {self.version} sha256={self.sha256[:12]}>"

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
        out = self.predict_proba_features(featurize(batch))
        return out[0] if single else out

    def predict_proba_features(self, features: np.ndarray) -> np.ndarray:
        """Like `predict_proba`, from ``featurize`` output: float32 (n, F) -> float64 (n, 10)."""
        out = np.zeros((len(features), N_CLASSES), dtype=np.float64)
        for name, proba in self.part_probas(features).items():
            out[:, self.columns[name]] += self.weights[name] * proba
        out /= out.sum(axis=1, keepdims=True)
        return out

    def part_probas(self, features: np.ndarray) -> dict[str, np.ndarray]:
        """Each part's own probabilities, float64 (n, C_part), columns in the part's classes."""
        parts: dict[str, np.ndarray] = {}
        if self.flat is not None:
            parts["forest"] = self.flat.predict_proba(features)
        if self.svm is not None:
            parts["svm"] = self.svm.predict_proba(features)
        return parts

    def set_wholeness(self, forest: FlatForest | Any) -> None:
        """Attach the wholeness forest (``ml.wholeness``; fitted, or a `FlatForest`)."""
        flat = forest if isinstance(forest, FlatForest) else FlatForest.from_sklearn(forest)
        if [int(c) for c in np.asarray(flat.classes)] != [0, 1]:
            raise ModelLoadError("the wholeness part must have the classes 0 and 1")
        self.wholeness = flat

    def whole_proba(
        self, x: np.ndarray, boxes: np.ndarray, height: float | np.ndarray
    ) -> np.ndarray:
        """The probability (n,) that each of the pieces ``x`` (n, 28, 28) with ``boxes`` (n, 4)
        (x0, y0, x1, y1) in a line ``height`` tall is one whole digit (see ``ml.wholeness``).
        Only for a model with a wholeness part."""
        if self.wholeness is None:
            raise ValueError("this model has no wholeness part")
        return self.wholeness.predict_proba(wholeness_features(x, boxes, height))[:, 1]

    def read_pieces(
        self, x: np.ndarray, boxes: np.ndarray, height: float | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``predict_proba(x)`` and ``whole_proba(x, boxes, height)`` of the same pieces, with
        their features computed once (for small batches they cost more than both parts)."""
        if self.wholeness is None:
            raise ValueError("this model has no wholeness part")
        features = featurize(x)
        whole = wholeness_features(x, boxes, height, features=features)
        return self.predict_proba_features(features), self.wholeness.predict_proba(whole)[:, 1]

    def save_npz(self, path: Path) -> Path:
        """Write the serving file: a flat-forest file for the forest kinds without a wholeness
        part, else a "digits-model" file holding ``forest_<name>``, ``svm_<name>`` and
        ``whole_<name>`` arrays plus its meta."""
        path = Path(path)
        if self.kind in FOREST_KINDS and self.wholeness is None and self.digitness is None:
            return self.flat.save(path)
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "kind": self.kind,
            "weights": self.weights,
        }
        if self.flat is not None:
            arrays |= {f"forest_{k}": v for k, v in self.flat.arrays().items()}
            meta["forest"] = {"n_features": self.flat.n_features, "sha256": self.flat.sha256()}
        if self.svm is not None:
            arrays |= {f"svm_{k}": v for k, v in self.svm.arrays().items()}
            meta["svm"] = {"sha256": self.svm.sha256()}
        if self.wholeness is not None:
            arrays |= {f"whole_{k}": v for k, v in self.wholeness.arrays().items()}
            meta["wholeness"] = {
                "n_features": self.wholeness.n_features,
                "sha256": self.wholeness.sha256(),
            }
        if self.digitness is not None:
            arrays |= {f"digit_{k}": v for k, v in self.digitness.forest.arrays().items()}
            meta["digitness"] = {
                "n_features": self.digitness.forest.n_features,
                "sha256": self.digitness.forest.sha256(),
                "lone": self.digitness.lone,
                "mean": self.digitness.mean,
                "piece": self.digitness.piece,
                "lone_forest_power": self.digitness.lone_forest_power,
            }
            if self.digitness.svm is not None:
                arrays |= {f"dsvm_{k}": v for k, v in self.digitness.svm.arrays().items()}
                meta["digitness"]["svm_sha256"] = self.digitness.svm.sha256()
            if self.digitness.lone_svm is not None:
                arrays |= {f"dlsvm_{k}": v for k, v in self.digitness.lone_svm.arrays().items()}
                meta["digitness"]["lone_svm_sha256"] = self.digitness.lone_svm.sha256()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.savez(fh, **arrays, **{_META_KEY: np.array(json.dumps(meta))})
        return path


def _read_npz(path: Path) -> dict[str, Any]:
    """The parts of a serving file as `Model` keyword arguments (``forest``, ``svm``, ...)."""
    with np.load(path, allow_pickle=False) as bundle:
        meta = json.loads(str(bundle[_META_KEY]))
        if meta.get("format") == "flat-forest":
            return {"forest": FlatForest.load(path)}
        if meta.get("format") != MODEL_FORMAT or meta.get("format_version") != MODEL_FORMAT_VERSION:
            raise ValueError(f"not a {MODEL_FORMAT} version {MODEL_FORMAT_VERSION} file")
        parts: dict[str, Any] = {"kind": meta["kind"], "weights": meta.get("weights")}
        if "forest" in meta:
            parts["forest"] = FlatForest.from_arrays(
                _prefixed(bundle, "forest_"),
                n_features=meta["forest"]["n_features"],
                sha256=meta["forest"]["sha256"],
            )
        if "svm" in meta:
            parts["svm"] = FlatSVM.from_arrays(
                _prefixed(bundle, "svm_"), sha256=meta["svm"]["sha256"]
            )
        if "wholeness" in meta:
            parts["wholeness"] = FlatForest.from_arrays(
                _prefixed(bundle, "whole_"),
                n_features=meta["wholeness"]["n_features"],
                sha256=meta["wholeness"]["sha256"],
            )
        if "digitness" in meta:
            detector = meta["digitness"]
            parts["digitness"] = Digitness(
                forest=FlatForest.from_arrays(
                    _prefixed(bundle, "digit_"),
                    n_features=detector["n_features"],
                    sha256=detector["sha256"],
                ),
                lone=float(detector["lone"]),
                mean=float(detector["mean"]),
                piece=float(detector["piece"]),
                lone_forest_power=float(detector.get("lone_forest_power", 1.0)),
                svm=DigitSVM.from_arrays(_prefixed(bundle, "dsvm_"), sha256=detector["svm_sha256"])
                if "svm_sha256" in detector
                else None,
                lone_svm=DigitSVM.from_arrays(
                    _prefixed(bundle, "dlsvm_"), sha256=detector["lone_svm_sha256"]
                )
                if "lone_svm_sha256" in detector
                else None,
            )
    return parts


def _prefixed(bundle: Any, prefix: str) -> dict[str, np.ndarray]:
    return {k.removeprefix(prefix): bundle[k] for k in bundle.files if k.startswith(prefix)}


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


def artifact_file(folder: Path) -> Path:
    """The serving file of an artifact ``folder``: ``model.npz``, or ``forest.npz`` in a folder
    saved before the file had that name."""
    folder = Path(folder)
    new = folder / ARTIFACT_NAME
    return (
        new
        if new.is_file() or not (folder / LEGACY_ARTIFACT_NAME).is_file()
        else folder / LEGACY_ARTIFACT_NAME
    )


def load_folder(folder: Path) -> Model:
    """``load_model`` of an artifact folder checked against the hash its own metadata records:
    for tools pointed at a folder they trust (benchmarks); the site checks the registry's."""
    meta = json.loads((Path(folder) / METADATA_NAME).read_text())
    return load_model(Path(folder), expected_sha256=meta["sha256"])


def load_model(path: Path, *, expected_sha256: str) -> Model:
    """Load the serving artifact written by ``ml.artifact.save_artifact``.

    ``path`` is the ``model.npz`` file or its directory (one saved before the file had that name
    holds ``forest.npz``, which is loaded instead); ``metadata.json`` must sit next to
    it. The file's sha256 is checked against ``expected_sha256`` before it is read, then the
    scikit-learn/numpy/feature versions are checked. The arrays are read with
    ``allow_pickle=False``, so loading cannot execute code. Raises ``ModelLoadError`` with a
    human message on any problem.
    """
    path = Path(path)
    if path.is_dir():
        path = artifact_file(path)
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
        parts = _read_npz(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"The model file {path.name} could not be loaded: {exc}") from exc
    if metadata.get("kind") not in (None, parts.get("kind", metadata.get("kind"))):
        raise ModelLoadError(f"The metadata in {meta_path.name} names another kind of model.")
    try:
        return Model(
            **parts, version=str(metadata.get("version", "")), sha256=actual, metadata=metadata
        )
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(f"The model file {path.name} is not a usable model: {exc}") from exc
