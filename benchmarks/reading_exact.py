"""Whether this checkout reads uploads exactly as another does: a check for refactors.

Usage::

    python benchmarks/reading_exact.py --baseline DIR --model DIR [--per-kind N] [--seed S]

Two worker processes, one importing ``ml`` from this checkout and one from ``--baseline`` (for
example ``git worktree add /tmp/base-main main``), load the same model artifact and read the
same uploads: ``--per-kind`` of every kind of ``testkit/uploads.py`` and of
``testkit/numbers.py``, each in auto and in number mode. Every reading's mode, text, boxes,
model inputs and probabilities must agree (floats to 1e-12), and so must every refusal's code.
Prints the differences and exits 1 if there are any.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-12

# Runs in each worker, with the checkout to read with first on sys.path. It knows the names of
# both sides of the ml package's re-layout (ml.decode / ml.reading.read_image, and before it
# ml.preprocess / ml.reading.read).
_WORKER = r"""
import json, pickle, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from ml.predict import load_model
try:
    from ml.decode import ImageRejected, load_image
    from ml.reading import read_image
except ImportError:
    from ml.preprocess import ImageRejected, load_image
    from ml.reading import read as read_image
from testkit import numbers, uploads as singles

folder = Path(sys.argv[2])
meta = json.loads((folder / "metadata.json").read_text())
model = load_model(folder, expected_sha256=meta["sha256"])
per_kind, seed = int(sys.argv[4]), int(sys.argv[5])
results = {}
for kit in (singles, numbers):
    for kind in kit.KINDS:
        for k, upload in enumerate(kit.generate(kind, per_kind, seed=seed)):
            for mode in ("auto", "number"):
                try:
                    r = read_image(load_image(upload.data), model, mode=mode)
                except ImageRejected as exc:
                    results[(kind, k, mode)] = ("rejected", exc.code)
                    continue
                results[(kind, k, mode)] = (
                    r.mode,
                    r.text,
                    r.confidence,
                    [tuple(d.box) for d in r.digits],
                    [d.model_input for d in r.digits],
                    [d.probabilities for d in r.digits],
                )
with open(sys.argv[3], "wb") as fh:
    pickle.dump(results, fh)
"""


def _run(code: Path, model: Path, out: Path, per_kind: int, seed: int) -> subprocess.Popen:
    command = [sys.executable, "-c", _WORKER, str(code), str(model), str(out)]
    command += [str(per_kind), str(seed)]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen(command, env=env)


def _differences(key: tuple, a: tuple, b: tuple) -> list[str]:
    if a[0] == "rejected" or b[0] == "rejected":
        return [] if a == b else [f"{key}: {a[:2]} != {b[:2]}"]
    out = []
    mode_a, text_a, conf_a, boxes_a, inputs_a, probas_a = a
    mode_b, text_b, conf_b, boxes_b, inputs_b, probas_b = b
    if (mode_a, text_a, boxes_a) != (mode_b, text_b, boxes_b):
        out.append(f"{key}: {mode_a} {text_a} {boxes_a} != {mode_b} {text_b} {boxes_b}")
        return out
    if abs(conf_a - conf_b) > TOLERANCE:
        out.append(f"{key}: confidence {conf_a} != {conf_b}")
    for x_a, x_b in zip(inputs_a, inputs_b, strict=True):
        if x_a.shape != x_b.shape or float(np.abs(x_a - x_b).max()) > TOLERANCE:
            out.append(f"{key}: model inputs differ")
    for p_a, p_b in zip(probas_a, probas_b, strict=True):
        if float(np.abs(np.subtract(p_a, p_b)).max()) > TOLERANCE:
            out.append(f"{key}: probabilities differ")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the other checkout")
    parser.add_argument("--model", type=Path, required=True, help="a trained artifact folder")
    parser.add_argument("--per-kind", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        outs = [Path(tmp) / "this.pickle", Path(tmp) / "baseline.pickle"]
        workers = [
            _run(code, args.model, out, args.per_kind, args.seed)
            for code, out in zip((ROOT, args.baseline.resolve()), outs, strict=True)
        ]
        if any(worker.wait() != 0 for worker in workers):
            print("a worker failed", file=sys.stderr)
            return 2
        this, baseline = (pickle.loads(out.read_bytes()) for out in outs)
    if this.keys() != baseline.keys():
        print("the two sides read different uploads")
        return 1
    problems = [p for key in sorted(this) for p in _differences(key, this[key], baseline[key])]
    read = sum(r[0] != "rejected" for r in this.values())
    digits = sum(len(r[3]) for r in this.values() if r[0] != "rejected")
    print(
        f"{len(this)} readings ({read} read, {digits} digits, {len(this) - read} refused); "
        f"{len(problems)} differences"
    )
    for problem in problems[:50]:
        print(" ", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
