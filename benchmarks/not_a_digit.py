"""Not a digit: what the detector refuses and what it costs the digits, against the reader alone.

Usage::

    python benchmarks/not_a_digit.py --model DIR [--nondigits N] [--per-kind N] [--numbers N]
                                     [--seed S] [--json FILE] [--uploads FILE]

One run reads every upload once with the model of DIR (an artifact with a detector, see
``ml.digitness``) with its detector set aside: that is today's reader, the "before" column. The
detector then judges the same reading, as ``read_image`` does: the "after" column. Rows:

- ``testkit.nondigits`` uploads (photos and pad exports, seed ``--seed``, never the training
  seed): the share refused, by any refusal and by "not a digit" alone, by category;
- every kind of ``testkit.uploads`` (single MNIST test digits, auto mode): the share read right;
- every kind of ``testkit.numbers``: the share of numbers read exactly;
- MNIST's test set, each image uploaded as it is (a 28x28 PNG): read right, refused counting
  as wrong (the digit model alone is untouched: its own accuracy cannot move);
- time: the detector's CPU time against the reading's, over every reading.

``--uploads FILE`` writes one JSON line per upload with the reading's lowest and mean
probability of "digit", so that other thresholds can be weighed on the same uploads.

Targets (issue 26): non-digits refused >= 95% as photos and as pads; each single-digit kind loses
at most 0.5 point; each number kind at most 1 point; MNIST within 0.05 point; time +10% at most.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import multiprocessing
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

from ml.data import load_mnist
from ml.decode import ImageRejected, load_image
from ml.digitness import DIGIT, NOT_A_DIGIT_CODE
from ml.predict import load_folder
from ml.reading import read_image
from testkit import nondigits, numbers, uploads
from testkit.render import png_bytes

TARGET_REFUSED = 0.95
MAX_SINGLE_LOSS, MAX_NUMBER_LOSS, MAX_MNIST_LOSS, MAX_TIME = 0.005, 0.01, 0.0005, 0.10
_model = None
_detector = None
_mnist_test: tuple[np.ndarray, np.ndarray] | None = None


def _init(folder: str) -> None:
    global _model, _detector, _mnist_test
    _mnist_test = load_mnist("test")
    _model = load_folder(Path(folder))
    _detector, _model.digitness = _model.digitness, None


def judge(data: bytes) -> dict:
    """Read ``data`` without the detector, then judge the reading with it: the text before and
    after (None when refused, with the code), and the CPU seconds of each."""
    started = time.process_time()
    try:
        reading = read_image(load_image(data), _model, mode="auto")
    except ImageRejected as exc:
        return {"before": None, "after": None, "code": exc.code, "read": 0.0, "check": 0.0}
    read = time.process_time() - started
    lone = reading.mode == "digit"
    started = time.process_time()
    # What Digitness.check does, keeping the probabilities it would drop with a refusal.
    inputs = np.stack([d.model_input for d in reading.digits])
    digit = _detector.marks_proba(inputs, [d.box for d in reading.digits], lone)[:, DIGIT]
    refused = _detector.refused(digit, lone)
    check = time.process_time() - started
    after, code = (None, NOT_A_DIGIT_CODE) if refused else (reading.text, None)
    return {
        "before": reading.text,
        "after": after,
        "code": code,
        "read": read,
        "check": check,
        "lone": lone,
        "low": float(digit.min()),
        "mean": float(digit.mean()),
    }


CHUNK = 10


def _chunks(args) -> list[tuple[str, str, int, int]]:
    """(section, kind, count, seed) of every chunk of uploads, each chunk its own seed."""
    plan = [("nondigit", kind, args.nondigits) for kind in nondigits.KINDS]
    plan += [("single", kind, args.per_kind) for kind in uploads.KINDS]
    plan = [p for p in plan if p[1] not in uploads.BLANK_KINDS]
    plan += [("number", kind, args.numbers) for kind in numbers.KINDS]
    plan += [("mnist", "mnist", args.mnist)]
    return [
        (section, kind, min(CHUNK, total - start), args.seed * 10_000 + k)
        for section, kind, total in plan
        for k, start in enumerate(range(0, total, CHUNK))
    ]


def _uploads(section: str, kind: str, n: int, seed: int) -> list[tuple[str, str | None, bytes]]:
    """(name, truth, data) of one chunk: made in the worker, which is where the time goes."""
    if section == "nondigit":
        return [(u.category, None, u.data) for u in nondigits.generate(kind, n, seed=seed)]
    if section == "single":
        return [(kind, str(u.label), u.data) for u in uploads.generate(kind, n, seed=seed)]
    if section == "number":
        return [(kind, u.text, u.data) for u in numbers.generate(kind, n, seed=seed)]
    # MNIST's test images, each uploaded as it is (28x28, white on black).
    x, y = _mnist_test
    picks = np.random.default_rng(seed).choice(len(y), n, replace=False)
    return [("mnist", str(y[i]), png_bytes(Image.fromarray(x[i]))) for i in picks]


def _judge_chunk(chunk: tuple[str, str, int, int]) -> list[tuple[str, str, str, str | None, dict]]:
    section, kind = chunk[:2]
    return [(section, kind, name, truth, judge(data)) for name, truth, data in _uploads(*chunk)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="an artifact with a detector")
    parser.add_argument("--nondigits", type=int, default=300, help="non-digits of each kind")
    parser.add_argument("--per-kind", type=int, default=200, help="single digits of each kind")
    parser.add_argument("--numbers", type=int, default=150, help="numbers of each kind")
    parser.add_argument("--mnist", type=int, default=10_000, help="MNIST test images")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--uploads", type=Path, default=None, help="one JSON line per upload")
    args = parser.parse_args(argv)
    if load_folder(args.model).digitness is None:
        parser.error(f"the model in {args.model} has no 'not a digit' detector")
    context = multiprocessing.get_context("fork")
    init = (str(args.model),)
    with ProcessPoolExecutor(2, mp_context=context, initializer=_init, initargs=init) as pool:
        judged = [row for chunk in pool.map(_judge_chunk, _chunks(args)) for row in chunk]
    rows = [row[:4] for row in judged]
    results = [row[4] for row in judged]
    if args.uploads:
        keys = ("section", "kind", "name", "truth")
        with args.uploads.open("w") as fh:
            for row, result in zip(rows, results, strict=True):
                fh.write(json.dumps(dict(zip(keys, row, strict=True)) | result) + "\n")
    ok = True
    report: dict = {"seed": args.seed, "load_average": [round(v, 2) for v in os.getloadavg()]}

    print(f"Non-digits (seed {args.seed}): share refused, before -> after (not a digit alone)")
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for (section, kind, name, _), result in zip(rows, results, strict=True):
        if section == "nondigit":
            groups[(kind, name)].append(result)
            groups[(kind, "all")].append(result)
    for (kind, name), found in sorted(groups.items()):
        before = np.mean([r["before"] is None for r in found])
        after = np.mean([r["after"] is None for r in found])
        own = np.mean([r["code"] == "not_a_digit" for r in found])
        mark = ""
        if name == "all":
            mark = "ok" if after >= TARGET_REFUSED else "MISSED"
            ok &= after >= TARGET_REFUSED
        print(
            f"  {kind:6} {name:9} n={len(found):4}  {before:6.1%} -> {after:6.1%} "
            f"({own:6.1%}) {mark}"
        )
        report[f"nondigit/{kind}/{name}"] = {"before": before, "after": after, "not_a_digit": own}

    sections = (("single", MAX_SINGLE_LOSS), ("number", MAX_NUMBER_LOSS), ("mnist", MAX_MNIST_LOSS))
    for section, limit in sections:
        print(f"\n{section.capitalize()} uploads, read right: before -> after (loss)")
        by_kind: dict[str, list[tuple[str, dict]]] = defaultdict(list)
        for (sec, kind, _, truth), result in zip(rows, results, strict=True):
            if sec == section:
                by_kind[kind].append((truth, result))
        for kind, found in by_kind.items():
            before = np.mean([r["before"] == t for t, r in found])
            after = np.mean([r["after"] == t for t, r in found])
            good = before - after <= limit + 1e-9
            ok &= good
            print(
                f"  {kind:28} n={len(found):4}  {before:6.1%} -> {after:6.1%} "
                f"({after - before:+.1%}) {'ok' if good else 'MISSED'}"
            )
            report[f"{section}/{kind}"] = {"before": before, "after": after}

    read = sum(r["read"] for r in results)
    check = sum(r["check"] for r in results)
    growth = check / max(read, 1e-9)
    good = growth <= MAX_TIME
    ok &= good
    print(
        f"Time: reading {read:.1f} s CPU, detector {check:.2f} s: +{growth:.1%} "
        f"{'ok' if good else 'MISSED'}"
    )
    report["time"] = {"read_s": read, "detector_s": check, "growth": growth}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print("\nAll targets met." if ok else "\nSome targets missed.")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
