"""Personal reading: a writer's later digits, read with their own corrections vs the model alone.

Usage::

    python benchmarks/personal_reading.py [--model DIR] [--first N] [--later N] [--seed S]

For each writer of ``testkit/writers.py`` (a handwriting font with a fixed slant, weight and
width, fresh jitter per photo): ``--first`` photos per digit are read in auto mode as a new user
would upload them, every misread is corrected at once (added to the user's memory), then
``--later`` more per digit are read with the memory and, on the same images, by the model alone.
Prints per writer the errors of both, the distances that chose ``ml.personal.RADIUS2``, whether
a user without corrections gets the model's probabilities on MNIST, and the time a read costs
more at ``MEMORY_LIMIT`` stored corrections (CPU time of this process, one core, the same
uploads read both ways in turn).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import io
import time

import numpy as np

from ml.data import load_mnist
from ml.decode import ImageRejected, load_image
from ml.features import featurize
from ml.personal import MEMORY_LIMIT, NOT_A_DIGIT, Memory, PersonalModel
from ml.predict import artifact_file, file_sha256, load_model
from ml.reading import read_image
from testkit.numbers import generate as generate_numbers
from testkit.writers import WRITERS, sample

DEFAULT_MODEL = Path("/work/models/base")


def _read(image, model) -> tuple[str, np.ndarray | None]:
    try:
        reading = read_image(image, model, mode="auto")
    except ImageRejected as exc:
        return f"!{exc.code}", None
    return reading.text, np.stack([d.model_input for d in reading.digits])


def _writer(writer, model, first: int, later: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    inputs: list[np.ndarray] = []
    labels: list[int] = []
    personal = model
    for _ in range(first):
        for digit in range(10):
            text, x = _read(load_image(io.BytesIO(sample(writer, digit, rng))), personal)
            if text != str(digit) and x is not None and len(x) == 1:
                inputs.append(x[0])
                labels.append(digit)
                personal = PersonalModel(model, Memory.build(np.stack(inputs), labels))
    errors = {"personal": 0, "alone": 0}
    confusions: dict[str, list[str]] = {"personal": [], "alone": []}
    later_inputs, later_labels = [], []
    for _ in range(later):
        for digit in range(10):
            image = load_image(io.BytesIO(sample(writer, digit, rng)))
            for name, reader in (("personal", personal), ("alone", model)):
                text, x = _read(image, reader)
                if text != str(digit):
                    errors[name] += 1
                    confusions[name].append(f"{digit}>{text}")
                if name == "alone" and x is not None and len(x) == 1:
                    later_inputs.append(x[0])
                    later_labels.append(digit)
    same, other = [], []
    if labels:
        stored = featurize(np.stack(inputs))
        fresh = featurize(np.stack(later_inputs))
        d2 = ((fresh[:, None, :] - stored[None, :, :]) ** 2).sum(axis=2)
        match = np.array(later_labels)[:, None] == np.array(labels)[None, :]
        same, other = d2[match].tolist(), d2[~match].tolist()
    return {
        "corrections": len(labels),
        "errors": errors,
        "confusions": confusions,
        "same": same,
        "other": other,
    }


def _timing(model, repeat: int) -> tuple[float, float]:
    """Median CPU ms per upload, model alone and with a full memory of MNIST test digits."""
    images, labels = load_mnist("test", limit=MEMORY_LIMIT)
    memory = Memory.build(images, labels)
    personal = PersonalModel(model, memory)
    rng = np.random.default_rng(7)
    uploads = [load_image(io.BytesIO(sample(WRITERS[0], d % 10, rng))) for d in range(10)]
    uploads += [
        load_image(io.BytesIO(u.data)) for u in generate_numbers("font_photo_2to8", 10, seed=3)
    ]
    times: dict[str, list[float]] = {"alone": [], "personal": []}
    for _ in range(repeat):
        for image in uploads:
            for name, reader in (("alone", model), ("personal", personal)):
                started = time.process_time()
                try:
                    reading = read_image(image, reader, mode="auto")
                    if reader is personal:
                        personal.model_alone(np.stack([d.model_input for d in reading.digits]))
                except ImageRejected:
                    pass
                times[name].append((time.process_time() - started) * 1000)
    return float(np.median(times["alone"])), float(np.median(times["personal"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--first", type=int, default=3)
    parser.add_argument("--later", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = artifact_file(args.model)
    model = load_model(path, expected_sha256=file_sha256(path))
    print(f"model {model!r}; {args.first} per digit corrected, then {args.later} per digit")
    print(f"{'writer':<20} {'corr':>4} {'alone':>6} {'personal':>8} {'ratio':>6}  personal errors")
    same, other, rows = [], [], []
    for k, writer in enumerate(WRITERS):
        r = _writer(writer, model, args.first, args.later, args.seed + k)
        same += r["same"]
        other += r["other"]
        alone, mine = r["errors"]["alone"], r["errors"]["personal"]
        rows.append((alone, mine))
        ratio = f"{mine / alone:.2f}" if alone else "-"
        print(
            f"{writer.name:<20} {r['corrections']:>4} {alone:>6} {mine:>8} {ratio:>6}  "
            f"{' '.join(r['confusions']['personal'][:8])}",
            flush=True,
        )
    total_alone = sum(a for a, _ in rows)
    total_mine = sum(m for _, m in rows)
    n = len(WRITERS) * 10 * args.later
    print(f"all writers: {total_alone}/{n} errors alone, {total_mine}/{n} with personal reading")
    worst = sorted(rows, reverse=True)[: max(1, len(rows) // 2)]
    print(
        f"worst half of the writers: {sum(a for a, _ in worst)} errors alone, "
        f"{sum(m for _, m in worst)} with personal reading"
    )
    if same:
        q = (10, 50, 90)
        print(
            "squared feature distance, later sample to a stored correction: same digit "
            f"p{q} {np.percentile(same, q).round(2).tolist()}, other digits "
            f"p{q} {np.percentile(other, q).round(2).tolist()} (min {min(other):.2f})"
        )
    images, _ = load_mnist("test", limit=2000)
    x = images.astype(np.float32) / 255
    same = np.array_equal(
        PersonalModel(model, Memory.empty()).predict_proba(x), model.predict_proba(x)
    )
    print(
        f"a user without corrections, {len(x)} MNIST test digits: probabilities identical: {same}"
    )
    alone_ms, personal_ms = _timing(model, args.repeat)
    print(
        f"read time per upload at {MEMORY_LIMIT} corrections (median CPU): alone "
        f"{alone_ms:.1f} ms, personal {personal_ms:.1f} ms, added {personal_ms - alone_ms:+.2f} ms"
        f" (target <= 2 ms); label {NOT_A_DIGIT} marks refuse"
    )


if __name__ == "__main__":
    main()
