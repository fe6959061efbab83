"""The active model, loaded lazily once per process and refreshed when another version is activated.

A web process checks which version is active at most every MODEL_REFRESH_SECONDS (one indexed
query), so promoting or rolling back a model reaches every running process without a restart.
"""

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ml.predict import Model, ModelLoadError, load_model

from . import artifacts
from .models import ModelVersion

logger = logging.getLogger(__name__)


class ModelUnavailable(Exception):
    """No usable active model: none is active, or its artifact is missing or corrupt.

    The message is shown to users (a failed upload, /healthz): it says what is wrong without
    checksums or paths; `detail` has them, for the log and for staff.
    """

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail or message


def _public_reason(detail: str) -> str:
    for words in ("does not exist", "does not match its recorded checksum", "shared storage"):
        if words in detail:
            reason = {"shared storage": "is not in the shared storage"}.get(words, words)
            return f"its file {reason}."
    if "trained with" in detail or "saved with" in detail or "expects features" in detail:
        return "it was made by other library versions; retrain it."
    return "its file cannot be read."


@dataclass
class _Loaded:
    version: ModelVersion
    model: Model
    checked_at: float


_lock = threading.Lock()
_loaded: _Loaded | None = None


def artifact_file(version: ModelVersion) -> Path:
    path = Path(version.artifact_path)
    return path if path.is_absolute() else Path(settings.MODEL_DIR) / path


def load_version(version: ModelVersion) -> Model:
    """Load and hash-check a version's artifact, first fetching it from the shared storage when
    this server has no copy (it was registered on another server). Raises ModelUnavailable."""
    path = artifact_file(version)
    if not path.exists() and artifacts.is_shared():
        try:
            path = artifacts.fetch(version.artifact_path, expected_sha256=version.sha256)
        except artifacts.ArtifactError as exc:
            raise _unavailable(version, str(exc)) from exc
    try:
        return load_model(path, expected_sha256=version.sha256)
    except ModelLoadError as exc:
        logger.error("model_load_failed version=%s path=%s error=%s", version.version, path, exc)
        raise _unavailable(version, str(exc)) from exc


def _unavailable(version: ModelVersion, detail: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"Model {version.version} cannot be loaded: {_public_reason(detail)}",
        detail=f"Model {version.version} cannot be loaded: {detail}",
    )


def get_active_model() -> tuple[ModelVersion, Model]:
    global _loaded
    current = _loaded
    now = time.monotonic()
    if current is not None and now - current.checked_at < settings.MODEL_REFRESH_SECONDS:
        return current.version, current.model

    active = ModelVersion.objects.active()
    if active is None:
        raise ModelUnavailable(
            "No model is active yet. An administrator needs to run `python manage.py train_model`."
        )
    if current is not None and current.version.pk == active.pk:
        current.checked_at = now
        return current.version, current.model

    with _lock:
        if _loaded is not None and _loaded.version.pk == active.pk:
            _loaded.checked_at = now
            return _loaded.version, _loaded.model
        started = time.perf_counter()
        model = load_version(active)
        logger.info(
            "model_loaded version=%s seconds=%.3f", active.version, time.perf_counter() - started
        )
        _loaded = _Loaded(version=active, model=model, checked_at=now)
        return active, model


def reset() -> None:
    """Forget the loaded model (tests, and after an artifact is replaced on disk)."""
    global _loaded
    with _lock:
        _loaded = None
