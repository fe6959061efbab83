"""How fast Digits answers, each stage against its scikit-learn baseline, measured in one run.

Usage: python benchmarks/speed.py [--model forest.joblib] [--calls 2000]

Without --model it trains a default 100-tree RandomForestClassifier on all of MNIST's raw
pixels (scaled to [0, 1] float32), which takes about 15-60 s on two cores. The machine is
shared and noisy, so only compare numbers printed by the same run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.forest_arrays import FlatForest  # noqa: E402


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


def default_forest(X: np.ndarray, y: np.ndarray) -> RandomForestClassifier:
    forest = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=-1).fit(X, y)
    # Serving predicts one image at a time, where n_jobs > 1 only adds thread overhead.
    return forest.set_params(n_jobs=1)


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


def inference_rows(
    forest: RandomForestClassifier, flat: FlatForest, images: np.ndarray
) -> list[Row]:
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
        ("FlatForest, numpy level by level", lambda x: flat.predict_proba(x, engine="numpy")),
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


def artifact_rows(forest: RandomForestClassifier, flat: FlatForest, workdir: Path) -> list[Row]:
    """Size on disk, load time in this process, and cold start in a fresh process."""
    joblib_path = workdir / "forest.joblib"
    joblib.dump(forest, joblib_path, compress=3)
    flat_path = flat.save(workdir / "forest.flat")
    x = "np.zeros((1, 784), dtype=np.float32)"

    rows = [
        Row("artifact on disk", "joblib, compress=3", f"{file_size(joblib_path) / 1e6:.1f} MB"),
        Row(
            "artifact on disk", "FlatForest .npy directory", f"{file_size(flat_path) / 1e6:.1f} MB"
        ),
    ]
    for name, load in [
        ("joblib.load", lambda: joblib.load(joblib_path)),
        ("FlatForest.load, in memory", lambda: FlatForest.load(flat_path, mmap=False)),
        ("FlatForest.load, memory-mapped", lambda: FlatForest.load(flat_path, mmap=True)),
    ]:
        rows.append(
            Row(
                "load, warm process",
                name,
                ms(median_seconds(load, repeats=3 if name == "joblib.load" else 15)),
            )
        )

    sk = cold_start(
        "import joblib", f"joblib.load({str(joblib_path)!r})", f"model.predict_proba({x})"
    )
    flat_cold = cold_start(
        "from ml.forest_arrays import FlatForest",
        f"FlatForest.load({str(flat_path)!r})",
        f"model.predict_proba({x})",
    )
    with tempfile.TemporaryDirectory() as empty_cache:
        flat_compile = cold_start(
            "from ml.forest_arrays import FlatForest",
            f"FlatForest.load({str(flat_path)!r})",
            f"model.predict_proba({x})",
            env={"NUMBA_CACHE_DIR": empty_cache},
        )
    for name, result in [
        ("joblib", sk),
        ("FlatForest, numba cache warm", flat_cold),
        ("FlatForest, numba compiling (empty cache)", flat_compile),
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
images = np.random.default_rng(0).random((200, 784), dtype=np.float32)
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


def print_table(title: str, rows: Sequence[Row]) -> None:
    print(f"\n{title}\n")
    print("| stage | path | median | p95 | vs baseline | output / notes |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r.stage} | {r.path} | {r.median} | {r.p95} | {r.versus} | {r.output} |")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a joblib file holding a fitted forest")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "mnist")
    parser.add_argument("--calls", type=int, default=2000, help="single-image calls per path")
    args = parser.parse_args(argv)

    X, y, X_test = load_mnist(args.data_dir)
    if args.model:
        forest = joblib.load(args.model).set_params(n_jobs=1)
        source = f"forest from {args.model}"
    else:
        start = time.perf_counter()
        forest = default_forest(X, y)
        source = f"default forest trained here in {time.perf_counter() - start:.0f} s"
    flat = FlatForest.from_sklearn(forest)
    images = X_test[np.random.default_rng(0).choice(len(X_test), args.calls, replace=False)]

    rows = inference_rows(forest, flat, images)
    with tempfile.TemporaryDirectory() as workdir:
        rows += artifact_rows(forest, flat, Path(workdir))
        rows.append(shared_memory_row(Path(workdir) / "forest.flat"))

    n_nodes = sum(e.tree_.node_count for e in forest.estimators_)
    print_table(
        f"{machine_description()}\n{type(forest).__name__}, {len(forest.estimators_)} trees, "
        f"{n_nodes} nodes ({source}); {args.calls} single-image calls per path",
        rows,
    )
    print("\n" + json.dumps({"flat_sha256": flat.sha256()}))


if __name__ == "__main__":
    main()
