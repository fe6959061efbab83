"""Reading speed, this checkout against another, taking each upload in turn.

Usage::

    python benchmarks/reading_ab.py --baseline DIR --model DIR [--kind KIND] [--uploads N]
                                    [--rounds R] [--seed S]

Two worker processes load the same model artifact, one importing ``ml`` from this checkout and
one from ``--baseline`` (for example ``git worktree add /tmp/old <commit>``). They time
``load_image`` + ``read`` (CPU ms of the worker, one BLAS thread, auto mode) on the same
``--uploads`` uploads of ``--kind`` (a number kind of ``testkit/numbers.py`` or a single-digit
kind of ``testkit/uploads.py``), one upload at a time and alternately, the order swapped every
round. Both sides thus see the same moments of a shared, noisy machine, which two
runs one after the other do not (this machine's speed swings by a fifth between runs).

Prints each side's median per upload, the median and 90th percentile of all runs, and the ratio
this checkout / baseline per upload with its geometric mean.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from testkit import numbers, uploads

ROOT = Path(__file__).resolve().parent.parent

# Runs in each worker, with the checkout to time first on sys.path.
_WORKER = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from ml.predict import load_model
try:
    from ml.decode import ImageRejected, load_image
    from ml.reading import read_image
except ImportError:  # a baseline from before the ml package was laid out by stage
    from ml.preprocess import ImageRejected, load_image
    from ml.reading import read as read_image
from testkit import numbers, uploads as singles

folder = Path(sys.argv[2])
meta = json.loads((folder / "metadata.json").read_text())
model = load_model(folder, expected_sha256=meta["sha256"])
kit = numbers if sys.argv[3] in numbers.KINDS else singles
uploads = kit.generate(sys.argv[3], int(sys.argv[4]), seed=int(sys.argv[5]))


def once(data):
    start = time.process_time()
    try:
        read_image(load_image(data), model)
    except ImageRejected:
        pass
    return 1000 * (time.process_time() - start)


for upload in uploads:
    once(upload.data)
print("ready", flush=True)
for line in sys.stdin:
    print(once(uploads[int(line)].data), flush=True)
"""


def _worker(code: Path, args: argparse.Namespace) -> subprocess.Popen:
    command = [sys.executable, "-c", _WORKER, str(code), str(args.model), args.kind]
    command += [str(args.uploads), str(args.seed)]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    worker = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    if worker.stdout.readline().strip() != "ready":
        raise SystemExit(f"the worker for {code} did not start")
    return worker


def _time(worker: subprocess.Popen, index: int) -> float:
    worker.stdin.write(f"{index}\n")
    worker.stdin.flush()
    return float(worker.stdout.readline())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout")
    parser.add_argument("--model", type=Path, required=True, help="saved artifact folder")
    parser.add_argument(
        "--kind", default="photo_12mp_6digits", choices=[*numbers.KINDS, *uploads.KINDS]
    )
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if not (args.model / "metadata.json").is_file():
        parser.error(f"{args.model} is not a saved model folder (no metadata.json)")
    sides = {"baseline": args.baseline.resolve(), "this checkout": ROOT}
    workers = {name: _worker(code, args) for name, code in sides.items()}
    times = {name: [[] for _ in range(args.uploads)] for name in sides}
    try:
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for index in range(args.uploads):
                for name in order:
                    times[name][index].append(_time(workers[name], index))
    finally:
        for worker in workers.values():
            worker.stdin.close()
            worker.wait()
    print(f"{args.kind}, {args.uploads} uploads x {args.rounds} rounds, CPU ms (seed {args.seed})")
    medians = {}
    for name, code in sides.items():
        medians[name] = [float(np.median(t)) for t in times[name]]
        every = [v for t in times[name] for v in t]
        print(
            f"{name} ({code}): median {np.median(every):.1f}, p90 {np.percentile(every, 90):.1f}, "
            f"slowest upload {max(medians[name]):.0f}"
        )
        print("  per upload: " + " ".join(f"{m:.0f}" for m in medians[name]))
    ratio = np.array(medians["this checkout"]) / np.array(medians["baseline"])
    print("this checkout / baseline per upload: " + " ".join(f"{r:.2f}" for r in ratio))
    print(f"geometric mean: {float(np.exp(np.log(ratio).mean())):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
