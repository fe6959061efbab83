"""Make the "not a digit" detector's examples: the marks the reader cuts from synthetic uploads.

``python -m testkit.digitness_examples --model DIR`` writes ``data/digitness/examples.npz``
(``ml.digitness_data``): uploads of single digits and numbers written with MNIST's **training**
digits (``testkit.uploads``, ``testkit.numbers``) and of non-digits (``testkit.nondigits``),
each read by the model in DIR without a detector, every mark kept with its class. The chunks of
each kind take turns at the folds, and a digit chunk of fold k writes only MNIST's pool k, so the
out-of-fold thresholds are measured on digits the detector never saw. Seeds here are the
training seeds; the benchmark (``benchmarks/not_a_digit.py``) uses others.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ml.data import load_mnist
from ml.decode import ImageRejected, load_image
from ml.digitness import CLASSES, DIGIT
from ml.digitness_data import EXAMPLES_PATH, FOLDS, Examples, concat
from ml.predict import load_folder
from ml.reading import read_image
from testkit import nondigits, numbers, uploads
from testkit.render import png_bytes

SEED = 101
_model = None
_train: tuple[np.ndarray, np.ndarray] | None = None


def _init(folder: str) -> None:
    global _model
    _model = load_folder(Path(folder))
    _model.digitness = None


def _marks(group: int, fold: int, data: bytes, label: int, truth: str) -> Examples | None:
    """The marks the reader cuts from one upload of class ``label`` that says ``truth`` (digits
    only), as upload ``group`` of ``fold``."""
    try:
        reading = read_image(load_image(data), _model, mode="auto")
    except ImageRejected:
        return None
    n = len(reading.digits)
    boxes = np.array([d.box for d in reading.digits], dtype=np.float64)
    return Examples(
        inputs=np.stack([d.model_input for d in reading.digits]).astype(np.float32),
        boxes=boxes,
        heights=np.full(n, (boxes[:, 3] - boxes[:, 1]).max()),
        lone=np.full(n, reading.mode == "digit"),
        labels=np.full(n, label, dtype=np.int64),
        groups=np.full(n, group, dtype=np.int64),
        right=np.full(n, reading.text == truth),
        folds=np.full(n, fold, dtype=np.int64),
    )


def _uploads(source: str, kind: str, n: int, seed: int, fold: int) -> list[tuple[bytes, int, str]]:
    """(bytes, class, what it says) of ``n`` uploads of one ``kind`` of ``source``; digits are
    MNIST's training digits of pool ``fold``."""
    if source == "nondigits":
        made = nondigits.generate(kind, n, seed=seed)
        return [(u.data, CLASSES.index(u.category), "") for u in made]
    images, labels = _train[0][fold::FOLDS], _train[1][fold::FOLDS]
    if source == "mnist":
        # MNIST's own images uploaded as they are: 28x28, white on black.
        picks = np.random.default_rng(seed).choice(len(labels), n, replace=False)
        return [(png_bytes(Image.fromarray(images[i])), DIGIT, str(labels[i])) for i in picks]
    if source == "uploads":
        made = uploads.generate(kind, n, seed=seed, images=images, labels=labels)
        return [(u.data, DIGIT, str(u.label)) for u in made]
    made = numbers.generate(kind, n, seed=seed, images=images, labels=labels)
    return [(u.data, DIGIT, u.text) for u in made]


def _chunk(job: tuple[int, str, str, int, int, int]) -> list[Examples]:
    first, source, kind, n, seed, fold = job
    found = (
        _marks(first + k, fold, data, label, truth)
        for k, (data, label, truth) in enumerate(_uploads(source, kind, n, seed, fold))
    )
    return [e for e in found if e is not None]


CHUNK = 10


def jobs(
    per_kind: int,
    nondigits_per_kind: int,
    mnist: int = 0,
    seed: int = SEED,
    numbers_per_kind: int | None = None,
) -> list[tuple[int, str, str, int, int, int]]:
    """(first group, source, kind, count, seed, fold) of every chunk of example uploads."""
    plan = [
        ("uploads", kind, per_kind) for kind in uploads.KINDS if kind not in uploads.BLANK_KINDS
    ]
    per_number = per_kind if numbers_per_kind is None else numbers_per_kind
    plan += [("numbers", kind, per_number) for kind in numbers.KINDS]
    plan += [("nondigits", kind, nondigits_per_kind) for kind in nondigits.KINDS]
    plan += [("mnist", "as-is", mnist)]
    out, first = [], 0
    for source, kind, total in plan:
        for k, start in enumerate(range(0, total, CHUNK)):
            n = min(CHUNK, total - start)
            out.append((first, source, kind, n, seed * 10_000 + k, k % FOLDS))
            first += n
    return out


def make_examples(
    model_dir: Path,
    per_kind: int,
    nondigits_per_kind: int,
    mnist: int,
    *,
    seed: int = SEED,
    n_jobs: int = 2,
    numbers_per_kind: int | None = None,
    sources: tuple[str, ...] = ("uploads", "numbers", "nondigits", "mnist"),
) -> Examples:
    """The marks of every example upload (of the chunks of ``sources``)."""
    global _train
    _train = load_mnist("train")
    plan = jobs(per_kind, nondigits_per_kind, mnist, seed=seed, numbers_per_kind=numbers_per_kind)
    todo = [job for job in plan if job[1] in sources]
    context = multiprocessing.get_context("fork")
    parts: list[Examples] = []
    with ProcessPoolExecutor(
        n_jobs, mp_context=context, initializer=_init, initargs=(str(model_dir),)
    ) as pool:
        for k, found in enumerate(pool.map(_chunk, todo)):
            parts += found
            print(f"\r{k + 1}/{len(todo)} chunks read", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return concat(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m testkit.digitness_examples", description=__doc__
    )
    parser.add_argument("--model", type=Path, required=True, help="a model's artifact folder")
    parser.add_argument("--out", type=Path, default=EXAMPLES_PATH)
    parser.add_argument("--per-kind", type=int, default=160, help="digit uploads of each kind")
    parser.add_argument("--numbers", type=int, default=640, help="number uploads of each kind")
    parser.add_argument("--nondigits", type=int, default=4500, help="non-digits of each kind")
    parser.add_argument("--mnist", type=int, default=3000, help="MNIST images uploaded as they are")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    examples = make_examples(
        args.model,
        args.per_kind,
        args.nondigits,
        args.mnist,
        seed=args.seed,
        numbers_per_kind=args.numbers,
    )
    examples.save(args.out)
    counts = {CLASSES[c]: int((examples.labels == c).sum()) for c in np.unique(examples.labels)}
    print(
        f"{len(examples)} marks from {len(np.unique(examples.groups))} uploads {counts} in "
        f"{time.perf_counter() - started:.0f} s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
