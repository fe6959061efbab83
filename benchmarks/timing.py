"""What every speed table shares: a row, timed calls with their medians, and the table itself."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn


@dataclass
class Row:
    stage: str
    path: str
    median: str
    p95: str = ""
    versus: str = ""
    output: str = ""


def time_calls(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray) -> np.ndarray:
    """Seconds per call of predict(image), one call per image, after a short warm-up."""
    for image in images[:20]:
        predict(image)
    seconds = np.empty(len(images))
    for i, image in enumerate(images):
        start = time.perf_counter()
        predict(image)
        seconds[i] = time.perf_counter() - start
    return seconds


def timed(action: Callable[[], object], calls: int) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU seconds of each call, after two untimed calls."""
    for _ in range(2):
        action()
    wall, cpu = np.empty(calls), np.empty(calls)
    for i in range(calls):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall[i], cpu[i] = time.perf_counter() - start, time.process_time() - start_cpu
    return wall, cpu


def median_seconds(action: Callable[[], object], repeats: int = 7) -> float:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds))


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def stage_row(stage: str, path: str, wall: np.ndarray, cpu: np.ndarray, base: float | None) -> Row:
    median = float(np.median(wall))
    return Row(
        stage,
        path,
        ms(median),
        ms(float(np.percentile(wall, 95))),
        f"{base / median:.1f}x" if base else "baseline",
        f"CPU {ms(float(np.median(cpu)))}",
    )


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, {cpu}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )


def print_table(title: str, rows: Sequence[Row]) -> None:
    print(f"\n{title}\n")
    print("| stage | path | median | p95 | vs baseline | output / notes |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r.stage} | {r.path} | {r.median} | {r.p95} | {r.versus} | {r.output} |")
