"""The command line of `ml.train`: ``python -m ml.train --out DIR [--kind ...] [--limit N]``."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime
from pathlib import Path

from ml.augment import FLAGGED_SHARE
from ml.digitness_data import EXAMPLES_PATH, load_examples
from ml.predict import KINDS
from ml.train import DEFAULT_KIND, DEFAULT_MAX_SVM_TRAIN, train_and_save
from ml.wholeness import DEFAULT_LINES


def main(argv: list[str] | None = None) -> int:
    from ml.data import DEFAULT_DATA_DIR, load_mnist

    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="directory for the artifact")
    parser.add_argument("--kind", choices=KINDS, default=DEFAULT_KIND)
    parser.add_argument(
        "--n-estimators", type=int, default=None, help="trees (default: 100, ensemble 30)"
    )
    parser.add_argument("--max-leaf-nodes", type=int, default=None)
    parser.add_argument("--max-svm-train", type=int, default=DEFAULT_MAX_SVM_TRAIN)
    parser.add_argument("--limit", type=int, default=None, help="use the first N training images")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--version", default=None, help="version string (default: timestamp)")
    parser.add_argument(
        "--wholeness-lines",
        type=int,
        default=None,
        help="lines of digits the wholeness part learns from (default: 1 per 5 images, at most "
        f"{DEFAULT_LINES}; 0: none)",
    )
    parser.add_argument(
        "--flagged-ones",
        type=float,
        default=FLAGGED_SHARE,
        help="copies of this share of the 1s with a flag drawn on, added to training "
        f"(ml/augment.py; default {FLAGGED_SHARE}; 0: none)",
    )
    parser.add_argument(
        "--digitness",
        type=Path,
        default=EXAMPLES_PATH,
        help="examples for the 'not a digit' detector (default: the shipped ones); 'none': none",
    )
    args = parser.parse_args(argv)

    X, y = load_mnist("train", data_dir=args.data_dir, limit=args.limit)
    Xt, yt = load_mnist("test", data_dir=args.data_dir)

    def report(done: int, total: int) -> None:
        bar = "#" * math.floor(30 * done / total)
        print(f"\rtraining [{bar:<30}] {done}%", end="", file=sys.stderr, flush=True)

    version = args.version or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    result, artifact, metrics = train_and_save(
        X,
        y,
        out_dir=args.out,
        version=version,
        data_source=f"MNIST IDX files ({len(y)} train, {len(yt)} test)",
        kind=args.kind,
        test=(Xt, yt),
        progress=report,
        n_estimators=args.n_estimators,
        max_leaf_nodes=args.max_leaf_nodes,
        max_svm_train=args.max_svm_train,
        wholeness_lines=args.wholeness_lines,
        flagged_ones=args.flagged_ones,
        digitness=None if str(args.digitness) == "none" else load_examples(args.digitness),
    )
    print(file=sys.stderr)
    size_mb = artifact.path.stat().st_size / 1e6
    print(
        f"{args.kind} {version}: accuracy {metrics['accuracy']:.4f} on {metrics['n']} test "
        f"images, ECE {metrics['calibration']['ece']:.4f}, trained in "
        f"{result.train_seconds:.1f} s, artifact {size_mb:.1f} MB, sha256 {artifact.sha256}"
    )
    return 0
