"""Every benchmark starts as the README and Makefile run it: `python benchmarks/<name>.py`.

A script's folder heads sys.path, so a file there named like a standard-library module (a
``numbers.py``, which numpy imports) breaks every other script in the folder at import time.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A script has a __main__ block; the folder's other modules are the scripts' shared parts.
SCRIPTS = sorted(
    path
    for path in (ROOT / "benchmarks").glob("*.py")
    if 'if __name__ == "__main__":' in path.read_text()
)


def test_the_benchmarks_are_found():
    assert {"accuracy.py", "number_reading.py", "speed.py", "load.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_benchmark_script_starts(script):
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
