"""Reading whole numbers: exact-number and per-digit accuracy, single digits in auto mode, speed.

Usage::

    python benchmarks/number_reading.py [--model DIR | --limit N] [--per-kind N]
                                        [--singles-per-kind N] [--seed S] [--repeat N]
                                        [--json FILE] [--kinds KIND ...] [--show-errors N]

Rows: each kind of ``testkit/numbers.py`` (numbers from MNIST test digits, and numbers written in
the handwriting fonts of ``testkit/fonts/``), read with ``ml.reading.read_image`` in auto mode: the
whole number exactly right, against issue 12's target where it sets one, the share of numbers cut
into the right count of digits, and per-digit accuracy (over numbers cut into the right count). Then
each kind of ``testkit/uploads.py`` (single digits) read in auto mode vs digit mode (today's
path); blank kinds count as correct when refused. Then the time of load_image + read_image on
TIMED_PHOTOS 12 MP photos of 6-digit numbers, taken in turn ``--repeat`` times (CPU time of this
process): the median and 90th percentile against the decode alone, and the share within the
issue's 60 ms.

The model is a saved artifact folder (``--model``, its own metadata.json supplies the hash), or
a RandomForest and its wholeness part trained here by ``ml.train.train_and_save`` (on the first
``--limit`` images).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# One core, as the speed target says. Set before numpy is imported: its BLAS threads start then,
# and their spinning counts in the process's CPU time.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import contextlib
import json
import platform
import tempfile
import time

import numpy as np

from ml.data import load_mnist
from ml.decode import ImageRejected, load_image
from ml.predict import Model, load_model
from ml.reading import read_image
from ml.train import train_and_save
from testkit import numbers, uploads

# Issue 12's targets for the exact whole number in auto mode, by kind.
TARGETS = {
    "photo_2to5": 0.93,
    "pad_2to5": 0.93,
    "photo_touching": 0.70,
    "pad_touching": 0.70,
    "font_photo_2to8": 0.90,
    "font_pad_2to8": 0.90,
}


def _model(args: argparse.Namespace) -> tuple[Model, str]:
    if args.model is not None:
        meta = json.loads((args.model / "metadata.json").read_text())
        # The benchmark trusts the folder it is pointed at: its own metadata supplies the hash.
        return load_model(args.model, expected_sha256=meta["sha256"]), str(args.model)
    X, y = load_mnist("train", limit=args.limit)
    out = Path(tempfile.mkdtemp(prefix="digits-numbers-"))
    # train_and_save, not train_model: the wholeness part is trained with the model.
    result, artifact, _ = train_and_save(
        X, y, out_dir=out, version="bench-numbers", data_source=f"MNIST train ({len(y)})", kind="rf"
    )
    model = load_model(out, expected_sha256=artifact.sha256)
    return model, f"trained here on {len(y)} images in {result.train_seconds:.0f} s ({out})"


def _numbers_table(
    model: Model, kinds: list[str], per_kind: int, seed: int, show: int
) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for kind in kinds:
        exact = count_ok = digits_ok = digits_n = refused = 0
        wrong: list[str] = []
        by_font: dict[str, list[int]] = {}  # font: [exact, n]
        ups = numbers.generate(kind, per_kind, seed=seed)
        for up in ups:
            try:
                text = read_image(load_image(up.data), model).text
            except ImageRejected as exc:
                refused += 1
                text = f"<{exc.code}>"
            exact += text == up.text
            if up.font is not None:
                tally = by_font.setdefault(up.font, [0, 0])
                tally[0] += text == up.text
                tally[1] += 1
            if len(text) == len(up.text):
                count_ok += 1
                digits_n += len(text)
                digits_ok += sum(a == b for a, b in zip(text, up.text, strict=True))
            if text != up.text and len(wrong) < show:
                wrong.append(f"{up.filename}: read {text}")
        rows[kind] = {
            "n": len(ups),
            "exact": exact / len(ups),
            "right_count": count_ok / len(ups),
            "per_digit": digits_ok / max(1, digits_n),
            "refused": refused / len(ups),
        }
        if by_font:
            rows[kind]["exact_by_font"] = {f: ok / n for f, (ok, n) in sorted(by_font.items())}
        print(f"  {kind}: {rows[kind]}", flush=True)
        for line in wrong:
            print(f"    {line}", flush=True)
    return rows


def _singles_table(model: Model, per_kind: int, seed: int) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    for kind in uploads.KINDS:
        hits = {"digit": 0, "auto": 0}
        ups = uploads.generate(kind, per_kind, seed=seed)
        for up in ups:
            image = load_image(up.data)
            for mode in hits:
                try:
                    reading = read_image(image, model, mode=mode)  # type: ignore[arg-type]
                except ImageRejected:
                    hits[mode] += up.label is None
                    continue
                hits[mode] += up.label is not None and reading.text == str(up.label)
        rows[kind] = {mode: hits[mode] / len(ups) for mode in hits}
        print(f"  {kind}: {rows[kind]}", flush=True)
    return rows


# The 12 MP photos timed: enough that the share needing a cut search (a wide mark the model
# is not sure of, about 2 in 5) shows in the median and the 90th percentile.
TIMED_PHOTOS = 20
# Issue 12's target for decode + segmentation + reading, CPU ms on one core.
TARGET_MS = 60


def _timing(model: Model, repeat: int, seed: int) -> dict[str, float]:
    ups = numbers.generate("photo_12mp_6digits", TIMED_PHOTOS, seed=seed)
    decode, total = [], []
    for i in range(repeat):
        data = ups[i % len(ups)].data
        t0 = time.process_time()
        image = load_image(data)
        t1 = time.process_time()
        with contextlib.suppress(ImageRejected):
            read_image(image, model)
        t2 = time.process_time()
        decode.append(1000 * (t1 - t0))
        total.append(1000 * (t2 - t0))
    return {
        "decode_ms_median": round(float(np.median(decode)), 1),
        "total_ms_median": round(float(np.median(total)), 1),
        "total_ms_p90": round(float(np.percentile(total, 90)), 1),
        f"share_within_{TARGET_MS}_ms": round(float(np.mean(np.array(total) <= TARGET_MS)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="saved artifact folder")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images")
    parser.add_argument("--per-kind", type=int, default=200)
    parser.add_argument("--singles-per-kind", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--show-errors", type=int, default=0, help="list N misreads per kind")
    parser.add_argument("--kinds", nargs="+", default=list(numbers.KINDS), choices=numbers.KINDS)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)

    model, source = _model(args)
    print(f"model: {source}", flush=True)
    print("numbers (auto mode):", flush=True)
    if args.per_kind <= 0:  # only the single-digit table
        args.kinds = []
    rows = _numbers_table(model, args.kinds, args.per_kind, args.seed, args.show_errors)
    singles: dict[str, dict] = {}
    if args.singles_per_kind > 0:
        print("single digits, auto vs digit mode:", flush=True)
        singles = _singles_table(model, args.singles_per_kind, args.seed)
    timing = _timing(model, args.repeat, args.seed) if args.repeat > 0 else {}

    print()
    print(f"Numbers, {args.per_kind} per kind, seed {args.seed}, auto mode")
    print("| kind | exact number | target | right digit count | per digit | refused |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind, r in rows.items():
        target = TARGETS.get(kind)
        goal = "-"
        if target is not None:
            goal = f">= {target:.0%} {'met' if r['exact'] >= target else 'missed'}"
        print(
            f"| {kind} | {r['exact']:.1%} | {goal} | {r['right_count']:.1%} "
            f"| {r['per_digit']:.1%} | {r['refused']:.1%} |"
        )
    font_kinds = [kind for kind, r in rows.items() if "exact_by_font" in r]
    if font_kinds:
        print()
        print("Exact number by handwriting font")
        print("| font | " + " | ".join(font_kinds) + " |")
        print("| --- |" + " --- |" * len(font_kinds))
        for font in numbers.fonts():
            cells = []
            for kind in font_kinds:
                share = rows[kind]["exact_by_font"].get(font)
                cells.append("-" if share is None else f"{share:.1%}")
            print(f"| {font} | " + " | ".join(cells) + " |")
    if singles:
        print()
        print(f"Single digits (testkit/uploads.py), {args.singles_per_kind} per kind")
        print("| kind | digit mode (today) | auto mode | difference (points) |")
        print("| --- | --- | --- | --- |")
        for kind, r in singles.items():
            diff = 100 * (r["auto"] - r["digit"])
            print(f"| {kind} | {r['digit']:.1%} | {r['auto']:.1%} | {diff:+.1f} |")
    if timing:
        print()
        print(
            f"12 MP photos of 6-digit numbers ({TIMED_PHOTOS}), load_image + read_image, "
            "CPU ms over "
            f"{args.repeat} runs (target {TARGET_MS} ms)"
        )
        for key, value in timing.items():
            print(f"{key}: {value}")
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"machine: {machine}, python {platform.python_version()}")
    if args.json is not None:
        args.json.write_text(
            json.dumps({"numbers": rows, "singles": singles, "timing": timing}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
