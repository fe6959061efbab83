"""Save a trained model as an artifact folder: the served .npz, the joblib record, metadata."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from ml.features import FEATURES_VERSION
from ml.predict import ARTIFACT_NAME, METADATA_NAME, RECORD_NAME, Model, file_sha256


@dataclass
class Artifact:
    """A saved model: ``path`` of the serving file (model.npz), its ``sha256``, the metadata."""

    path: Path
    sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)


def save_artifact(
    model: Model | Any,
    out_dir: Path,
    *,
    version: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
    data_source: str,
    train_seconds: float,
) -> Artifact:
    """Write the artifact folder: ``model.npz``, ``model.joblib`` and ``metadata.json``.

    ``model.npz`` is what serves (arrays, no pickle, for every kind); ``model.joblib`` is the
    fitted scikit-learn estimator, compressed, kept as the training record (the forest, the
    ``CalibratedClassifierCV`` of the SVM, or for the ensemble a dict of both and the weights).
    ``model`` is a ``Model`` (from ``train_model``) or a bare fitted forest. The metadata holds
    the kind, the low-confidence threshold, the python/scikit-learn/numpy versions, feature
    version, data source, params, metrics, training time and the sha256 of both files.
    Returns the ``Artifact`` of the serving file.
    """
    if not isinstance(model, Model):
        model = Model(model, version=version, sha256="")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    record = _training_record(model)
    record_meta = None
    if record is not None:
        record_path = out_dir / RECORD_NAME
        tmp = out_dir / f"{RECORD_NAME}.tmp"
        joblib.dump(record, tmp, compress=3)
        tmp.replace(record_path)
        record_meta = {
            "file": RECORD_NAME,
            "sha256": file_sha256(record_path),
            "bytes": record_path.stat().st_size,
        }
    path = out_dir / ARTIFACT_NAME
    tmp = out_dir / f".partial-{ARTIFACT_NAME}"
    model.save_npz(tmp)
    tmp.replace(path)
    sha256 = file_sha256(path)
    metadata = {
        "version": version,
        "kind": model.kind,
        "low_confidence_threshold": model.low_confidence_threshold,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sha256": sha256,
        "artifact": ARTIFACT_NAME,
        "artifact_bytes": path.stat().st_size,
        "training_record": record_meta,
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
        "features": FEATURES_VERSION,
        "data_source": data_source,
        "params": params,
        "metrics": metrics,
        "train_seconds": round(float(train_seconds), 3),
    }
    (out_dir / METADATA_NAME).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return Artifact(path=path, sha256=sha256, metadata=metadata)


def _training_record(model: Model) -> Any:
    """The scikit-learn estimator(s) behind ``model``, or None for a model loaded from a file."""
    if model.forest is not None:
        model.forest.set_params(n_jobs=1)
    if model.kind == "svm":
        return model.calibrated_svm
    if model.kind == "ensemble":
        if model.forest is None or model.calibrated_svm is None:
            return None
        return {"forest": model.forest, "svm": model.calibrated_svm, "weights": model.weights}
    return model.forest
