"""Model artifacts in the shared storage, so that every app server can load the active version.

On the local filesystem (one machine) MODEL_DIR is the only copy and nothing is published. With a
shared storage (S3), registering a version publishes its artifact folder to models/<folder>/, and a
server that lacks the folder downloads it into MODEL_DIR, its local cache, before the verified load.
"""

import hashlib
import logging
import os
import tempfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage

logger = logging.getLogger(__name__)

PREFIX = "models"


class ArtifactError(Exception):
    """The artifact cannot be published to or fetched from the shared storage."""


def is_shared() -> bool:
    return not isinstance(default_storage, FileSystemStorage)


def _folder(artifact_path: str) -> PurePosixPath:
    path = PurePosixPath(artifact_path)
    if path.is_absolute() or ".." in path.parts or len(path.parts) < 2:
        raise ArtifactError(
            f"The artifact path {artifact_path!r} must be relative to MODEL_DIR, inside a folder "
            "of its own, so that other servers can fetch it from the shared storage."
        )
    return path.parent


def publish(artifact_path: str) -> list[str]:
    """Upload every file of the artifact's folder under MODEL_DIR; return the storage names."""
    if not is_shared():
        return []
    folder = _folder(artifact_path)
    local_dir = Path(settings.MODEL_DIR) / folder
    published = []
    for file in sorted(local_dir.iterdir()):
        if not file.is_file() or file.name.startswith(".") or file.name.endswith(".tmp"):
            continue
        name = f"{PREFIX}/{folder.as_posix()}/{file.name}"
        # The storage never overwrites: clear a leftover of an earlier attempt to keep the name.
        default_storage.delete(name)
        with file.open("rb") as fh:
            saved = default_storage.save(name, File(fh, name=file.name))
        if saved != name:
            raise ArtifactError(f"The storage saved {name} as {saved}.")
        published.append(name)
    if f"{PREFIX}/{artifact_path}" not in published:
        raise ArtifactError(f"{local_dir / PurePosixPath(artifact_path).name} does not exist.")
    logger.info("model_artifact_published folder=%s files=%d", folder, len(published))
    return published


def fetch(artifact_path: str, *, expected_sha256: str) -> Path:
    """Download the artifact's folder into MODEL_DIR and return the local artifact file.

    Each file lands whole or not at all (temporary file, then rename); the artifact file comes
    last and only if its sha256 matches, so a half or corrupt download is never taken for a model.
    """
    folder = _folder(artifact_path)
    target = PurePosixPath(artifact_path).name
    remote_dir = f"{PREFIX}/{folder.as_posix()}"
    local_dir = Path(settings.MODEL_DIR) / folder
    try:
        _, files = default_storage.listdir(remote_dir)
        if target not in files:
            raise ArtifactError(f"{remote_dir}/{target} is not in the shared storage.")
        local_dir.mkdir(parents=True, exist_ok=True)
        for name in sorted(files, key=lambda n: n == target):
            _download(
                f"{remote_dir}/{name}",
                local_dir / name,
                expected_sha256=expected_sha256 if name == target else None,
            )
    except ArtifactError:
        raise
    except Exception as exc:
        raise ArtifactError(
            f"Downloading {remote_dir} from the shared storage failed: {exc}"
        ) from exc
    logger.info("model_artifact_fetched folder=%s files=%d", folder, len(files))
    return local_dir / target


def _download(name: str, dest: Path, *, expected_sha256: str | None) -> None:
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, default_storage.open(name, "rb") as src:
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        if expected_sha256 and digest.hexdigest() != expected_sha256.lower():
            raise ArtifactError(
                f"The copy of {name} in the shared storage does not match its recorded checksum "
                f"(expected {expected_sha256}, found {digest.hexdigest()}); refusing to use it."
            )
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
