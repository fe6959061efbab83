"""How fast Digits answers, each stage against its scikit-learn baseline, measured in one run.

Usage: python benchmarks/speed.py [--model ARTIFACT_DIR] [--calls 2000] [--requests 100]

ARTIFACT_DIR is a RandomForest artifact folder (model.npz, model.joblib, metadata.json), e.g.
from `python -m ml.train --kind rf --out DIR`: this benchmark measures the forest's flat
inference path against scikit-learn's, which an SVM or ensemble artifact does not have
(benchmarks/accuracy.py and load.py cover those). Without --model it trains a forest
(100 trees on --train-limit MNIST images, the project's features) into a temporary folder,
which takes a few minutes on two busy cores. The machine is shared and noisy, so only compare
numbers printed by the same run; each table prints the load average it ran under, and the
request rows also give CPU time, which noise from other processes inflates far less.

Stages, each for a 280x280 canvas PNG and a 12 MP phone JPEG: decode (`load_image`),
preprocess (`to_mnist`), featurize, inference, and the whole upload request through Django's
test Client in-process (SQLite in a temporary folder, the image stored, predicted and saved).
With --gunicorn-memory it also starts `gunicorn -c gunicorn.conf.py` (preload) with 1 and
with 4 workers and reads their PSS/USS from /proc/<pid>/smaps_rollup.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.features import featurize  # noqa: E402
from ml.forest_arrays import FlatForest  # noqa: E402
from ml.predict import artifact_file  # noqa: E402


@dataclass
class Row:
    stage: str
    path: str
    median: str
    p95: str = ""
    versus: str = ""
    output: str = ""


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, {cpu}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )


def read_idx(path: Path, header: int) -> np.ndarray:
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


def load_mnist(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train images (60000, 784) float32 in [0, 1], train labels uint8, test images float32."""
    X = read_idx(data_dir / "train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    y = read_idx(data_dir / "train-labels-idx1-ubyte.gz", 8)
    X_test = read_idx(data_dir / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    return X.astype(np.float32) / 255, y, X_test.astype(np.float32) / 255


def time_calls(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray) -> np.ndarray:
    """Seconds per call of predict(image), one call per image, after a short warm-up."""
    for image in images[:20]:
        predict(image)
    seconds = np.empty(len(images))
    for i, image in enumerate(images):
        start = time.perf_counter()
        predict(image)
        seconds[i] = time.perf_counter() - start
    return seconds


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def inference_rows(forest: Any, flat: FlatForest, images: np.ndarray) -> list[Row]:
    """Single-image predict_proba: scikit-learn against the other paths, same images."""
    reference = forest.predict_proba(images)

    def plain_loop(image: np.ndarray) -> np.ndarray:
        X = image.reshape(1, -1)
        total = np.zeros((1, flat.n_classes))
        for tree in forest.estimators_:
            total += tree.predict_proba(X, check_input=False)
        return total[0] / len(forest.estimators_)

    paths: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
        (
            "scikit-learn predict_proba, n_jobs=1",
            lambda x: forest.predict_proba(x.reshape(1, -1))[0],
        ),
        ("plain loop over tree.predict_proba", plain_loop),
        ("FlatForest, numba (served)", flat.predict_proba),
    ]
    rows, baseline = [], None
    for name, predict in paths:
        seconds = time_calls(predict, images)
        outputs = np.array([predict(image) for image in images[:500]])
        diff = float(np.abs(outputs - reference[:500]).max())
        same = np.array_equal(outputs, reference[:500])
        median = float(np.median(seconds))
        baseline = baseline or median
        rows.append(
            Row(
                "inference, 1 image",
                name,
                ms(median),
                ms(float(np.percentile(seconds, 95))),
                f"{baseline / median:.1f}x",
                "bit-identical" if same else f"max abs diff {diff:.1e}",
            )
        )
    return rows


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size


def median_seconds(action: Callable[[], object], repeats: int = 7) -> float:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds))


COLD_START = """
import time
start = time.perf_counter()
import numpy as np
{imports}
imported = time.perf_counter()
model = {load}
{predict}
ready = time.perf_counter()
rss_kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS"))
print(imported - start, ready - imported, rss_kb)
"""


def cold_start(imports: str, load: str, predict: str, env: dict[str, str] | None = None) -> dict:
    """A fresh interpreter: seconds to import, seconds to load and predict once, RSS in MB.

    Medians over 3 processes; `wall` includes the interpreter's own start.
    """
    code = COLD_START.format(imports=imports, load=load, predict=predict)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        )
        wall = time.perf_counter() - start
        imported, ready, rss_kb = out.stdout.split()
        runs.append((float(imported), float(ready), wall, int(rss_kb) / 1024))
    imported, ready, wall, rss = np.median(np.array(runs), axis=0)
    return {"import": imported, "ready": ready, "wall": wall, "rss": rss}


def artifact_rows(joblib_path: Path, npz_path: Path, sha256: str) -> list[Row]:
    """Size on disk, load time in this process, and cold start in a fresh process."""
    from ml.predict import load_model

    x = "np.zeros((1, 28, 28), dtype=np.float32)"
    rows = [
        Row(
            "artifact on disk",
            "model.joblib (training record)",
            f"{file_size(joblib_path) / 1e6:.1f} MB",
        ),
        Row("artifact on disk", "model.npz (served)", f"{file_size(npz_path) / 1e6:.1f} MB"),
    ]
    for name, load in [
        ("joblib.load of the forest", lambda: joblib.load(joblib_path)),
        (
            "load_model: sha256 + FlatForest.load + 1st prediction",
            lambda: load_model(npz_path, expected_sha256=sha256),
        ),
    ]:
        rows.append(
            Row(
                "load, warm process",
                name,
                ms(median_seconds(load, repeats=3 if name.startswith("joblib") else 15)),
            )
        )

    sk = cold_start(
        "import joblib; from ml.features import featurize",
        f"joblib.load({str(joblib_path)!r})",
        f"model.predict_proba(featurize({x}))",
    )
    served = (
        "from ml.predict import load_model",
        f"load_model(__import__('pathlib').Path({str(npz_path)!r}), expected_sha256={sha256!r})",
        f"model.predict_proba({x})",
    )
    flat_cold = cold_start(*served)
    with tempfile.TemporaryDirectory() as empty_cache:
        flat_compile = cold_start(*served, env={"NUMBA_CACHE_DIR": empty_cache})
    for name, result in [
        ("joblib + scikit-learn", sk),
        ("load_model (model.npz), numba cache warm", flat_cold),
        ("load_model (model.npz), numba compiling (empty cache)", flat_compile),
    ]:
        rows.append(
            Row(
                "cold start: load + 1st prediction",
                name,
                f"{result['ready']:.3f} s",
                versus=f"imports {result['import']:.3f} s, process wall {result['wall']:.2f} s",
                output=f"RSS {result['rss']:.0f} MB",
            )
        )
    return rows


SHARED = """
import os, sys, numpy as np
from ml.forest_arrays import FlatForest
def kb(field, path="/proc/self/smaps_rollup"):
    return next(int(l.split()[1]) for l in open(path) if l.startswith(field + ":"))
forest = FlatForest.load(sys.argv[1])
images = np.random.default_rng(0).random((200, forest.n_features), dtype=np.float32)
children = []
for _ in range(4):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        for image in images:
            forest.predict_proba(image)
        os.write(write, str(kb("Pss")).encode())
        os._exit(0)
    children.append((pid, read))
pss = [int(os.read(read, 64)) for pid, read in children]
for pid, _ in children:
    os.waitpid(pid, 0)
print(kb("Rss"), kb("Pss"), sum(pss))
"""


def shared_memory_row(flat_path: Path) -> Row:
    """Memory of a preloading master plus 4 forked workers, against one process alone."""
    out = subprocess.run(
        [sys.executable, "-c", SHARED, str(flat_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    one_rss, master_pss, workers_pss = (int(v) / 1024 for v in out.stdout.split())
    total = master_pss + workers_pss
    return Row(
        "memory, preload + fork 4 workers",
        "FlatForest (numpy + numba + arrays only)",
        f"{total:.0f} MB PSS in all",
        versus=f"{total / one_rss:.2f}x one process ({one_rss:.0f} MB RSS)",
    )


def test_images() -> dict[str, bytes]:
    """The load benchmark's canvas drawing and 12 MP phone photo, each of an MNIST test digit."""
    from benchmarks.workload import canvas_png, phone_photo
    from ml.data import load_mnist as load_digits

    digits, _ = load_digits("test", limit=2)
    return {
        "canvas 280x280 PNG": canvas_png(digits[0]),
        "12 MP JPEG": phone_photo(digits[1], 4000, 3000, 0),
    }


def timed(action: Callable[[], object], calls: int) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU seconds of each call, after two untimed calls."""
    for _ in range(2):
        action()
    wall, cpu = np.empty(calls), np.empty(calls)
    for i in range(calls):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall[i], cpu[i] = time.perf_counter() - start, time.process_time() - start_cpu
    return wall, cpu


def stage_row(stage: str, path: str, wall: np.ndarray, cpu: np.ndarray, base: float | None) -> Row:
    median = float(np.median(wall))
    return Row(
        stage,
        path,
        ms(median),
        ms(float(np.percentile(wall, 95))),
        f"{base / median:.1f}x" if base else "baseline",
        f"CPU {ms(float(np.median(cpu)))}",
    )


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


def _smaps(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        fields[key] = int(value.split()[0])
    return fields


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def gunicorn_memory(artifact_dir: Path, workers: int, workdir: Path) -> dict[str, float]:
    """Start `gunicorn -c gunicorn.conf.py` (preload) on a copy of the request benchmark's
    database, upload 10 canvas drawings and 2 12 MP photos per worker, read PSS/USS in MB."""
    import shutil
    import socket

    import requests

    from benchmarks.workload import sign_up_session

    var = workdir / f"gunicorn-{workers}"
    shutil.copytree(workdir / "var", var, ignore=shutil.ignore_patterns("media", "numba"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "speed-benchmark-" + "x" * 40,
        "DJANGO_HTTPS": "false",
        "DIGITS_VAR_DIR": str(var),
        "MEDIA_ROOT": str(var / "media"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [gunicorn, "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        session, _, _ = sign_up_session(url, f"memory{workers}", timeout=30)
        images = test_images()
        blobs = [images["canvas 280x280 PNG"]] * 10 + [images["12 MP JPEG"]] * 2
        with ThreadPoolExecutor(max_workers=workers) as pool:
            statuses = list(
                pool.map(
                    lambda blob: (
                        session.post(
                            f"{url}/",
                            files={"image": ("d.png", blob)},
                            allow_redirects=False,
                            timeout=60,
                        ).status_code
                    ),
                    blobs * workers,
                )
            )
        if set(statuses) != {302}:
            raise SystemExit(f"uploads failed: {sorted(set(statuses))}")
        pids = [proc.pid, *_children(proc.pid)]
        maps = [_smaps(pid) for pid in pids]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    uss = [m["Private_Clean"] + m["Private_Dirty"] for m in maps]
    return {
        "total_pss": sum(m["Pss"] for m in maps) / 1024,
        "master_rss": maps[0]["Rss"] / 1024,
        "worker_rss": float(np.median([m["Rss"] for m in maps[1:]])) / 1024,
        "worker_uss": float(np.median(uss[1:])) / 1024,
        "workers": len(maps) - 1,
    }


def memory_rows(artifact_dir: Path, workdir: Path) -> list[Row]:
    one = gunicorn_memory(artifact_dir, 1, workdir)
    four = gunicorn_memory(artifact_dir, 4, workdir)
    rows = []
    for name, m in (("1 worker", one), ("4 workers", four)):
        rows.append(
            Row(
                "memory, gunicorn --preload, after uploads",
                f"master + {name}",
                f"{m['total_pss']:.0f} MB PSS in all",
                versus=f"{m['total_pss'] / one['total_pss']:.2f}x master + 1 worker"
                if m is four
                else "baseline",
                output=f"master RSS {m['master_rss']:.0f} MB; per worker RSS "
                f"{m['worker_rss']:.0f} MB, USS {m['worker_uss']:.1f} MB",
            )
        )
    return rows


def print_table(title: str, rows: Sequence[Row]) -> None:
    print(f"\n{title}\n")
    print("| stage | path | median | p95 | vs baseline | output / notes |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r.stage} | {r.path} | {r.median} | {r.p95} | {r.versus} | {r.output} |")


def train_default(workdir: Path, limit: int) -> Path:
    """Train a forest (train_model's defaults, kind rf) into workdir/model; return the folder."""
    from ml.artifact import save_artifact
    from ml.data import load_mnist as load_digits
    from ml.train import train_model

    images, labels = load_digits("train", limit=limit or None)
    result = train_model(images, labels)
    artifact = save_artifact(
        result.model,
        workdir / "model",
        version="speed-bench",
        params=result.params,
        metrics=result.metrics,
        data_source=f"mnist-train[:{len(labels)}]",
        train_seconds=result.train_seconds,
    )
    return artifact.path.parent


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="an artifact folder written by train_model")
    parser.add_argument("--train-limit", type=int, default=0, help="MNIST images (0 = all)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "mnist")
    parser.add_argument("--calls", type=int, default=2000, help="single-image inference calls")
    parser.add_argument("--stage-calls", type=int, default=100, help="calls per stage and path")
    parser.add_argument("--requests", type=int, default=60, help="canvas uploads per path")
    parser.add_argument(
        "--gunicorn-memory", action="store_true", help="measure gunicorn with 1 and 4 workers"
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="digits-speed-") as tmp:
        workdir = Path(tmp)
        if args.model:
            artifact_dir = args.model
            kind = json.loads((artifact_dir / "metadata.json").read_text()).get("kind", "rf")
            if kind != "rf":
                parser.error(
                    f"{artifact_dir} holds a model of kind {kind}; this benchmark needs a "
                    "RandomForest artifact (python -m ml.train --kind rf --out DIR)"
                )
            source = f"artifact {args.model}"
        else:
            start = time.perf_counter()
            artifact_dir = train_default(workdir, args.train_limit)
            source = f"default model trained here in {time.perf_counter() - start:.0f} s"
        joblib_path = artifact_dir / "model.joblib"
        npz_path = artifact_file(artifact_dir)
        sha256 = json.loads((artifact_dir / "metadata.json").read_text())["sha256"]
        forest = joblib.load(joblib_path).set_params(n_jobs=1)
        flat = FlatForest.load(npz_path)

        _, _, X_test = load_mnist(args.data_dir)
        picked = np.random.default_rng(0).choice(len(X_test), args.calls, replace=False)
        features = featurize(X_test[picked].reshape(-1, 28, 28))

        rows: list[Row] = []

        def add(new: list[Row]) -> None:
            rows.extend(new)
            for r in new:  # progress, in case a later section fails
                print(
                    f"  {r.stage} | {r.path} | {r.median} | {r.p95} | {r.output}", file=sys.stderr
                )

        add(stage_rows(forest, flat, args.stage_calls))
        add(request_rows(artifact_dir, forest, args.requests, workdir))
        add(inference_rows(forest, flat, features))
        add(artifact_rows(joblib_path, npz_path, sha256))
        add([shared_memory_row(npz_path)])
        if args.gunicorn_memory:
            add(memory_rows(artifact_dir, workdir))

    n_nodes = sum(e.tree_.node_count for e in forest.estimators_)
    load_after = os.getloadavg()
    print_table(
        f"{machine_description()}; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after\n{type(forest).__name__}, {len(forest.estimators_)} trees, "
        f"{n_nodes} nodes, {forest.n_features_in_} features ({source}); {args.calls} "
        "single-image inference calls per path on MNIST test digits; medians and p95 are wall "
        "time, CPU is the median process time of the same calls",
        rows,
    )
    print("\n" + json.dumps({"flat_sha256": flat.sha256()}))


if __name__ == "__main__":
    main()
