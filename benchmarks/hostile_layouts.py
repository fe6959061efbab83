"""The cost of the uploads built to be slow: the worst CPU time to read or refuse, per family.

Usage::

    python benchmarks/hostile_layouts.py --model DIR [--baseline DIR] [--baseline-timeout S]
                                         [--timeout S] [--target S] [--only FAMILY ...]

Families of hostile layouts, each at several sizes up to the upload limits of
``digitsite/settings.py`` (UPLOAD_MAX_PIXELS, UPLOAD_MAX_BYTES): dots, dashes, hatching,
grids, confetti of tiny marks, long lines and huge aspect ratios. Every case is a PNG, timed
as CPU time (one thread: OMP, OpenBLAS, MKL and numba at 1) of ``ml.decode.load_image`` plus
``ml.reading.read_image`` in auto mode, in a worker process that loaded the model first.

With ``--baseline`` (another checkout, e.g. main) the same cases run in a second worker with
that checkout's ``ml``; a case it spends more than ``--baseline-timeout`` CPU seconds on is
stopped there and shown as "> S". Cases of this checkout stop at ``--timeout``. Prints the
worst case per family and overall, and exits 1 when this checkout's worst is over ``--target``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
MAX_PIXELS = 40_000_000  # digitsite/settings.py UPLOAD_MAX_PIXELS
MAX_BYTES = 5 * 1024 * 1024  # UPLOAD_MAX_BYTES

_WORKER = r"""
import json, signal, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from ml.decode import ImageRejected, load_image
from ml.predict import load_model
from ml.reading import read_image

folder, cases, limit = Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
meta = json.loads((folder / "metadata.json").read_text())
model = load_model(folder, expected_sha256=meta["sha256"])


class Stopped(Exception):
    pass


def stop(signum, frame):
    raise Stopped


signal.signal(signal.SIGPROF, stop)
index = json.loads((cases / "index.json").read_text())
# One read first, so that no case pays for lazy imports.
try:
    read_image(load_image((cases / index[0]["file"]).read_bytes()), model)
except ImageRejected:
    pass
for case in index:
    data = (cases / case["file"]).read_bytes()
    start = time.process_time()
    signal.setitimer(signal.ITIMER_PROF, limit)
    try:
        outcome = "read " + read_image(load_image(data), model).text
    except ImageRejected as exc:
        outcome = exc.code
    except Stopped:
        outcome = "stopped"
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    seconds = time.process_time() - start
    print(json.dumps({"file": case["file"], "cpu": seconds, "outcome": outcome}), flush=True)
"""


def _canvas(width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("L", (width, height), 255)
    return image, ImageDraw.Draw(image)


def dots(n: int, radius: int, pitch: int) -> Image.Image:
    """``n`` round dots on one line, ``pitch`` apart (the probe that timed out a worker)."""
    image, draw = _canvas((n - 1) * pitch + 4 * radius + 80, 200)
    for k in range(n):
        x = 40 + 2 * radius + k * pitch
        draw.ellipse((x - radius, 100 - radius, x + radius, 100 + radius), fill=0)
    return image


def dashes(n: int, length: int, pitch: int, thick: int, upright: bool) -> Image.Image:
    """A dashed line: ``n`` dashes ``length`` long, ``pitch`` apart; upright ones are a fence."""
    image, draw = _canvas(n * pitch + 80, max(200, 3 * length))
    mid = image.height // 2
    for k in range(n):
        x = 40 + k * pitch
        if upright:
            draw.rectangle((x, mid - length // 2, x + thick - 1, mid + length // 2), fill=0)
        else:
            draw.rectangle((x, mid - thick // 2, x + length - 1, mid + thick // 2), fill=0)
    return image


def hatching(n: int, pitch: int, slant: int, width: int, cross: bool) -> Image.Image:
    """``n`` parallel slanted strokes 100 tall, ``pitch`` apart; crossed the other way too."""
    image, draw = _canvas(n * pitch + slant + 80, 300)
    for k in range(n):
        x = 40 + k * pitch
        draw.line((x, 100, x + slant, 200), fill=0, width=width)
        if cross:
            draw.line((x + slant, 100, x, 200), fill=0, width=width)
    return image


def grid(rows: int, cols: int, cell: int, width: int) -> Image.Image:
    """A grid of ``rows`` x ``cols`` boxes ``cell`` wide: digit boxes on a form, graph paper."""
    image, draw = _canvas(cols * cell + 80, rows * cell + 80)
    for r in range(rows + 1):
        draw.line((40, 40 + r * cell, 40 + cols * cell, 40 + r * cell), fill=0, width=width)
    for c in range(cols + 1):
        draw.line((40 + c * cell, 40, 40 + c * cell, 40 + rows * cell), fill=0, width=width)
    return image


def confetti(n: int, width: int, height: int, band: bool, seed: int = 0) -> Image.Image:
    """``n`` tiny marks (1-4 pixels) scattered over the page, or over one band of it."""
    rng = np.random.default_rng(seed)
    image, draw = _canvas(width, height)
    y0, y1 = (height // 2 - height // 10, height // 2 + height // 10) if band else (0, height)
    for x, y, s in zip(
        rng.integers(0, width, n), rng.integers(y0, y1, n), rng.integers(1, 5, n), strict=True
    ):
        draw.rectangle((int(x), int(y), int(x + s - 1), int(y + s - 1)), fill=0)
    return image


def long_line(kind: str, length: int, height: int, period: int, width: int) -> Image.Image:
    """One long stroke across the page: a sine wave, a zigzag, loops, or a ruler's ticks."""
    image, draw = _canvas(length + 80, 3 * height)
    xs = np.arange(0, length, 2, dtype=np.float64)
    mid, amp = 1.5 * height, height / 2
    if kind == "sine":
        ys = mid + amp * np.sin(2 * np.pi * xs / period)
    elif kind == "zigzag":
        ys = mid + amp * (2 * np.abs(2 * (xs / period % 1) - 1) - 1)
    elif kind == "loops":
        t = 2 * np.pi * xs / period
        xs, ys = xs + 0.8 * period * np.sin(t) / (2 * np.pi) * 3, mid - amp * np.cos(t)
    else:
        draw.line((40, mid + amp, 40 + length, mid + amp), fill=0, width=width)
        for x in range(0, length, period):
            draw.line((40 + x, mid + amp, 40 + x, mid - amp), fill=0, width=width)
        return image
    draw.line(list(zip((40 + xs).tolist(), ys.tolist(), strict=True)), fill=0, width=width)
    return image


def aspect(width: int, height: int, what: str) -> Image.Image:
    """A canvas of an extreme shape holding dots, or a zigzag, along its long side."""
    image, draw = _canvas(width, height)
    long_side, short = max(width, height), min(width, height)
    r = max(1, short // 8)
    if what == "dots":
        for k in range(40, long_side - 40, 3 * r):
            box = (k - r, short // 2 - r, k + r, short // 2 + r)
            draw.ellipse(box if width >= height else (box[1], box[0], box[3], box[2]), fill=0)
    else:
        points = [
            (x, short // 4 if (x // (2 * r)) % 2 else 3 * short // 4)
            for x in range(0, long_side, 2 * r)
        ]
        if width < height:
            points = [(y, x) for x, y in points]
        draw.line(points, fill=0, width=max(1, r // 2))
    return image


# family: (case name, builder) pairs; each is also scaled up to the pixel limit.
FAMILIES: dict[str, list[tuple[str, Callable[[], Image.Image]]]] = {
    "dots": [
        (f"{n} dots r{r} pitch {p}", lambda n=n, r=r, p=p: dots(n, r, p))
        for n, r, p in [
            (14, 10, 30),
            (22, 10, 30),
            (30, 10, 30),
            (35, 10, 30),
            (60, 10, 30),
            (22, 8, 20),
            (35, 6, 16),
            (120, 5, 14),
            (22, 12, 34),
        ]
    ],
    "dashes": [
        (
            f"{n} {'upright' if up else 'flat'} dashes {ln}/{p}/{t}",
            lambda n=n, ln=ln, p=p, t=t, up=up: dashes(n, ln, p, t, up),
        )
        for n, ln, p, t, up in [
            (30, 20, 30, 6, False),
            (60, 12, 16, 5, False),
            (40, 80, 14, 6, True),
            (60, 60, 10, 4, True),
            (25, 100, 24, 8, True),
        ]
    ],
    "hatching": [
        (
            f"{n} strokes pitch {p} slant {s}{' crossed' if c else ''}",
            lambda n=n, p=p, s=s, w=w, c=c: hatching(n, p, s, w, c),
        )
        for n, p, s, w, c in [
            (30, 12, 40, 4, False),
            (60, 8, 60, 3, False),
            (30, 16, 50, 4, True),
            (15, 20, 80, 6, True),
        ]
    ],
    "grids": [
        (f"{r}x{c} boxes of {cell}", lambda r=r, c=c, cell=cell, w=w: grid(r, c, cell, w))
        for r, c, cell, w in [
            (1, 10, 60, 3),
            (1, 20, 60, 3),
            (1, 40, 30, 2),
            (3, 12, 50, 3),
            (20, 20, 20, 1),
        ]
    ],
    "confetti": [
        (f"{n} specks{' in a band' if b else ''}", lambda n=n, b=b: confetti(n, 800, 600, b))
        for n, b in [(300, True), (3000, True), (3000, False), (30000, False)]
    ],
    "long lines": [
        (
            f"{k} {ln} long, {h} high, period {p}",
            lambda k=k, ln=ln, h=h, p=p, w=w: long_line(k, ln, h, p, w),
        )
        for k, ln, h, p, w in [
            ("sine", 1600, 60, 40, 4),
            ("zigzag", 1600, 60, 24, 3),
            ("loops", 1600, 60, 30, 3),
            ("ruler", 1600, 40, 12, 2),
            ("zigzag", 800, 100, 60, 6),
            ("sine", 3000, 100, 30, 3),
        ]
    ],
    "aspect ratios": [
        (f"{w}x{h} {what}", lambda w=w, h=h, what=what: aspect(w, h, what))
        for w, h, what in [
            (40000, 1000, "dots"),
            (40000, 1000, "zigzag"),
            (1000, 40000, "dots"),
            (100000, 400, "zigzag"),
            (2000, 40, "dots"),
            (20000, 2, "dots"),
            (4000, 100, "zigzag"),
        ]
    ],
}


def _scales(image: Image.Image) -> list[int]:
    """The sizes a layout is tried at: as drawn, 4 times as large, and as large as allowed."""
    most = math.floor(math.sqrt(MAX_PIXELS / (image.width * image.height)))
    return sorted({s for s in (1, 4, most) if 1 <= s <= most})


def cases(only: list[str] | None) -> Iterator[tuple[str, str, bytes, tuple[int, int]]]:
    for family, layouts in FAMILIES.items():
        if only and family not in only:
            continue
        for name, build in layouts:
            base = build()
            for scale in _scales(base):
                size = (base.width * scale, base.height * scale)
                image = base.resize(size, Image.Resampling.NEAREST) if scale > 1 else base
                buffer = io.BytesIO()
                image.save(buffer, "PNG", optimize=scale == 1)
                if buffer.tell() <= MAX_BYTES:
                    yield family, f"{name} x{scale}", buffer.getvalue(), size


def _run(code: Path, model: Path, folder: Path, limit: float, out: Path) -> subprocess.Popen:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[name] = "1"
    command = [sys.executable, "-c", _WORKER, str(code), str(model), str(folder), str(limit)]
    return subprocess.Popen(command, env=env, stdout=out.open("w"), cwd=code)


def _seconds(result: dict | None, limit: float) -> str:
    if result is None:
        return "-"
    if result["outcome"] == "stopped":
        return f"> {limit:g}"
    return f"{result['cpu']:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a trained artifact folder")
    parser.add_argument("--baseline", type=Path, help="another checkout to time the same cases")
    parser.add_argument("--baseline-timeout", type=float, default=3.0, help="CPU s per case")
    parser.add_argument("--timeout", type=float, default=30.0, help="CPU s per case, this side")
    parser.add_argument("--target", type=float, default=1.0, help="worst CPU s allowed")
    parser.add_argument("--only", nargs="*", choices=list(FAMILIES), help="some families")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        index = []
        for k, (family, name, data, size) in enumerate(cases(args.only)):
            file = f"{k:03d}.png"
            (folder / file).write_bytes(data)
            index.append(
                {"file": file, "family": family, "name": name, "size": size, "bytes": len(data)}
            )
        (folder / "index.json").write_text(json.dumps(index))
        print(
            f"{len(index)} cases; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        sides = [("this", ROOT, args.timeout)]
        if args.baseline is not None:
            sides.append(("baseline", args.baseline.resolve(), args.baseline_timeout))
        workers = [
            (
                side,
                limit,
                folder / f"{side}.jsonl",
                _run(code, args.model.resolve(), folder, limit, folder / f"{side}.jsonl"),
            )
            for side, code, limit in sides
        ]
        results: dict[str, dict[str, dict]] = {}
        for side, _, out, worker in workers:
            if worker.wait() != 0:
                print(f"the {side} worker failed", file=sys.stderr)
                return 2
            results[side] = {r["file"]: r for r in map(json.loads, out.read_text().splitlines())}
    limits = {side: limit for side, limit, _, _ in workers}
    this = results["this"]
    base = results.get("baseline", {})

    def row(case: dict) -> str:
        mine = this[case["file"]]
        w, h = case["size"]
        cells = [
            f"{case['family']:<13}",
            f"{case['name']:<38}",
            f"{w}x{h} ({case['bytes'] / 1024:.0f} KB)".ljust(26),
            f"{_seconds(mine, limits['this']):>7}",
            f"{mine['outcome'][:16]:<16}",
        ]
        if base:
            cells.append(f"{_seconds(base.get(case['file']), limits['baseline']):>7}")
        return " ".join(cells)

    head = f"{'family':<13} {'worst case':<38} {'size':<26} {'CPU s':>7} {'outcome':<16}"
    print(head + (f" {'baseline':>8}" if base else ""))
    worst_of = {}
    for case in index:
        family = case["family"]
        if (
            family not in worst_of
            or this[case["file"]]["cpu"] > this[worst_of[family]["file"]]["cpu"]
        ):
            worst_of[family] = case
    for case in worst_of.values():
        print(row(case))
    if base:
        print("baseline's worst per family:")
        for family in worst_of:
            mine = [c for c in index if c["family"] == family]
            print(row(max(mine, key=lambda c: base[c["file"]]["cpu"])))
    overall = max(index, key=lambda c: this[c["file"]]["cpu"])
    print("worst overall:")
    print(row(overall))
    if base:
        print(row(max(index, key=lambda c: base[c["file"]]["cpu"])) + "  (baseline's worst)")
        stopped = sum(r["outcome"] == "stopped" for r in base.values())
        print(
            f"baseline stopped at {limits['baseline']:g} CPU s on {stopped} of {len(index)} cases"
        )
    over = [c for c in index if this[c["file"]]["cpu"] > args.target]
    print(f"{len(over)} of {len(index)} cases over {args.target:g} CPU s")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
