"""The not-a-digit benchmark's per-upload lines: other thresholds are weighed on them, so each
line's scores must decide exactly what the detector decided."""

import json
import subprocess
import sys
from pathlib import Path

from ml.predict import load_folder

ROOT = Path(__file__).resolve().parents[2]


def test_each_uploads_line_holds_the_scores_the_detector_judged_by(detector_artifact, tmp_path):
    folder = detector_artifact.path.parent
    out = tmp_path / "uploads.jsonl"
    args = ["--model", str(folder), "--nondigits", "6", "--per-kind", "1", "--numbers", "1"]
    args += ["--mnist", "4", "--seed", "7", "--uploads", str(out)]

    done = subprocess.run(
        [sys.executable, "benchmarks/not_a_digit.py", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )

    assert "Non-digits (seed 7)" in done.stdout, done.stderr
    detector = load_folder(folder).digitness
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {line["section"] for line in lines} == {"nondigit", "single", "number", "mnist"}
    read = [line for line in lines if line["before"] is not None]
    assert read
    for line in read:
        refused = bool(detector.refuses(line["low"], line["mean"], line["lone"]))
        assert refused == (line["code"] == "not_a_digit"), line
        assert line["after"] == (None if refused else line["before"])
        assert 0 <= line["low"] <= line["mean"] <= 1
