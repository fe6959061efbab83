"""Per-stage and whole-request timings of one upload, each against its baseline in the same run.

Stages (decode, to_mnist, featurize, inference) for a canvas PNG and a 12 MP phone JPEG, then the
whole upload request through Django's test Client, then a server process's cold start.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.timing import Row, stage_row, timed
from ml.features import featurize
from ml.forest_arrays import FlatForest
from ml.predict import artifact_file

ROOT = Path(__file__).resolve().parents[1]


def test_images() -> dict[str, bytes]:
    """The load benchmark's canvas drawing and 12 MP phone photo, each of an MNIST test digit."""
    from benchmarks.workload import canvas_png, phone_photo
    from ml.data import load_mnist as load_digits

    digits, _ = load_digits("test", limit=2)
    return {
        "canvas 280x280 PNG": canvas_png(digits[0]),
        "12 MP JPEG": phone_photo(digits[1], 4000, 3000, 0),
    }


def full_decode(blob: bytes):
    """What Pillow does without draft(): every pixel of the file decoded, then made upright."""
    from PIL import Image, ImageOps

    image = Image.open(io.BytesIO(blob))
    image.load()
    return ImageOps.exif_transpose(image)


def stage_rows(forest, flat: FlatForest, calls: int) -> list[Row]:
    """decode, to_mnist, featurize and inference of one image, for each kind of upload."""
    rows = []
    for kind, blob in test_images().items():
        n = calls if "canvas" in kind else max(5, calls // 4)
        rows += _stage_rows_of(kind, blob, forest, flat, n)
    return rows


def _stage_rows_of(kind: str, blob: bytes, forest: Any, flat: FlatForest, n: int) -> list[Row]:
    from ml import crop, decode

    rows = []
    decoded, full = decode.load_image(blob), full_decode(blob)
    x = crop.to_mnist(decoded)
    features = featurize(x)
    pairs = [
        ("decode", "Pillow, full size (no draft)", lambda: full_decode(blob)),
        ("decode", "load_image (draft for JPEG)", lambda: decode.load_image(blob)),
        ("preprocess", "to_mnist of the full-size image", lambda: crop.to_mnist(full)),
        ("preprocess", "to_mnist of load_image's image", lambda: crop.to_mnist(decoded)),
        (
            "decode + preprocess",
            "full decode + to_mnist",
            lambda: crop.to_mnist(full_decode(blob)),
        ),
        (
            "decode + preprocess",
            "load_image + to_mnist (served)",
            lambda: crop.to_mnist(decode.load_image(blob)),
        ),
        ("featurize", "featurize, deskew + HOG (same code both ways)", lambda: featurize(x)),
        ("featurize", None, None),
        (
            "inference",
            "scikit-learn predict_proba, n_jobs=1",
            lambda: forest.predict_proba(features),
        ),
        ("inference", "FlatForest, numba (served)", lambda: flat.predict_proba(features)),
    ]
    base = None
    for stage, path, action in pairs:
        if action is None:  # a stage without a baseline: the next row starts a new pair
            base = None
            continue
        wall, cpu = timed(action, n)
        row = stage_row(f"{stage}, {kind}", path, wall, cpu, base)
        base = None if base else float(np.median(wall))
        rows.append(row)
    return rows


class SklearnWalk:
    """Stands in for Model.flat so that a request predicts through scikit-learn (the baseline)."""

    def __init__(self, forest) -> None:
        self.forest = forest

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.forest.predict_proba(X)


def request_rows(artifact_dir: Path, forest, calls: int, workdir: Path) -> list[Row]:
    """One upload through Django (test Client, in-process, SQLite): stored, predicted, saved.

    Baseline: the same code with scikit-learn's predict_proba and Pillow's defaults for the stored
    PNGs (zlib level 6, thumbnail without reducing_gap). Calls alternate baseline/project.
    """
    os.environ.update(
        DJANGO_SETTINGS_MODULE="digitsite.settings",
        DJANGO_DEBUG="true",
        DIGITS_VAR_DIR=str(workdir / "var"),
        MEDIA_ROOT=str(workdir / "var" / "media"),
        LOG_LEVEL="INFO",
    )
    import django

    django.setup()
    from digitsite.startup import prepare_dirs

    prepare_dirs()  # the temporary var folder, which manage.py would make
    import logging

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from recognizer import images, model_versions, registry

    # Log lines are formatted as in production, then dropped instead of filling the table.
    sink = open(os.devnull, "w")  # noqa: SIM115
    for handler in logging.getLogger("django").handlers + logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)
    call_command("migrate", verbosity=0)
    npz = artifact_file(artifact_dir)
    meta = json.loads((artifact_dir / "metadata.json").read_text())
    version = model_versions.model_version_register(
        version=meta.get("version", "bench"),
        artifact_path=str(npz.resolve()),
        sha256=meta["sha256"],
        params=meta.get("params", {}),
        metrics=meta.get("metrics", {}),
    )
    if version.status != "active":
        model_versions.model_version_activate(model_version=version)
    user = get_user_model().objects.create_user(username="speed", password="speed-Pa55word!")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    _, model = registry.get_active_model()
    served = model.flat

    def upload(blob: bytes) -> None:
        response = client.post("/", {"image": io.BytesIO(blob)})
        if response.status_code != 302:
            raise SystemExit(f"upload failed: HTTP {response.status_code}")

    def baseline() -> None:
        images.PNG_COMPRESS_LEVEL, images.THUMBNAIL_REDUCING_GAP = 6, 2.0
        model.flat = SklearnWalk(forest)

    def project() -> None:
        images.PNG_COMPRESS_LEVEL, images.THUMBNAIL_REDUCING_GAP = png, gap
        model.flat = served

    png, gap = images.PNG_COMPRESS_LEVEL, images.THUMBNAIL_REDUCING_GAP
    rows = []
    for kind, blob in test_images().items():
        n = calls if "canvas" in kind else max(5, calls // 4)
        times = {"baseline": ([], []), "project": ([], [])}
        for i in range(n + 2):
            for name, setup in (("baseline", baseline), ("project", project)):
                setup()
                start, start_cpu = time.perf_counter(), time.process_time()
                upload(blob)
                if i >= 2:
                    times[name][0].append(time.perf_counter() - start)
                    times[name][1].append(time.process_time() - start_cpu)
        project()
        base_wall, base_cpu = (np.array(t) for t in times["baseline"])
        wall, cpu = (np.array(t) for t in times["project"])
        stage = f"whole upload request, {kind}"
        rows.append(
            stage_row(
                stage, "scikit-learn, PNG level 6, plain thumbnail", base_wall, base_cpu, None
            )
        )
        rows.append(
            stage_row(
                stage,
                "FlatForest, PNG level 1, reduced thumbnail",
                wall,
                cpu,
                float(np.median(base_wall)),
            )
        )
    rows.append(django_cold_start_row())
    return rows


DJANGO_COLD = """
import time
start = time.perf_counter()
from digitsite.wsgi import application
imported = time.perf_counter()
from recognizer import registry
registry.get_active_model()
print(imported - start, time.perf_counter() - imported)
"""


def django_cold_start_row() -> Row:
    """A server process without --preload: WSGI import, then the first request's model load."""
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", DJANGO_COLD],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"},
        )
        runs.append([float(v) for v in out.stdout.split()[-2:]])
    imported, loaded = np.median(np.array(runs), axis=0)
    return Row(
        "cold start, lazily loaded (no --preload)",
        "first request: get_active_model (sha256, model.npz, numba warm at start)",
        f"{loaded:.3f} s",
        versus=f"before it, the WSGI import with numba's warm-up: {imported:.2f} s",
        output="with --preload the master loads it before fork: 0 s in a worker",
    )
