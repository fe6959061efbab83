"""Artifact size, load and cold start, and memory: forked workers sharing the model, gunicorn."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import numpy as np

from benchmarks.speed_stages import test_images
from benchmarks.timing import Row, median_seconds, ms

ROOT = Path(__file__).resolve().parents[1]


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*")) if path.is_dir() else path.stat().st_size


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
