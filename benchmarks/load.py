"""Load benchmark: simulated users against gunicorn on loopback, then a check that nothing was lost.

By default it builds a throwaway deployment in a temporary folder (SQLite, or the database given
by --database-url / DATABASE_URL: use a dedicated one, the run activates its own model there),
migrates it, trains a model, starts gunicorn with --workers, and runs the users. With --url it
targets a running server instead; run it then with the server's DATABASE_URL and MEDIA_ROOT so
the check after the run reads the same database and files.

Each user signs up, then until --duration or --max-uploads is reached uploads a mix of 280x280
canvas PNG drawings, phone photos (1600x1200 JPEG) and 12 MP phone photos (4000x3000 JPEG), and
reads its history every few uploads. It reports requests/s, uploads/s and p50/p95 latency per
kind, the error count, and checks that successful uploads = rows = stored files, with no orphan
file. Exit status 1 if there was any error or any lost or orphaned upload.

    .venv/bin/python benchmarks/load.py --users 8 --duration 30
    .venv/bin/python benchmarks/load.py --database-url postgres://digits:...@127.0.0.1/digits_bench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.workload import KINDS, make_images, sign_up_session  # noqa: E402

DETAIL = re.compile(r"^/predictions/(\d+)/$")


# ---------------------------------------------------------------------------------------------
# The server under test.


@dataclass
class Deployment:
    url: str
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    tmp: tempfile.TemporaryDirectory | None = None
    lines: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        if self.tmp:
            self.tmp.cleanup()


# Registers and activates an artifact folder written by train_model (no training in the run).
REGISTER = """
import json, pathlib
from recognizer import services
from recognizer.models import ModelVersion
folder = pathlib.Path({folder!r})
meta = json.loads((folder / "metadata.json").read_text())
version = ModelVersion.objects.filter(version=meta["version"]).first() or (
    services.model_version_register(
        version=meta["version"], artifact_path=str(folder / "forest.npz"),
        sha256=meta["sha256"], params=meta.get("params", {{}}), metrics=meta.get("metrics", {{}}),
    )
)
if version.status != "active":
    services.model_version_activate(model_version=version)
"""


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def start_deployment(args: argparse.Namespace) -> Deployment:
    tmp = tempfile.TemporaryDirectory(prefix="digits-load-")
    var = Path(tmp.name)
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "load-benchmark-" + uuid.uuid4().hex * 2,
        "DIGITS_VAR_DIR": str(var),
        "MEDIA_ROOT": str(var / "media"),
        "MODEL_DIR": str(var / "models"),
        "DATABASE_URL": args.database_url or f"sqlite:///{var / 'db.sqlite3'}",
        # Loopback has no TLS proxy in front: no HTTPS redirect, cookies over plain HTTP.
        "DJANGO_HTTPS": "false",
    }
    what = f"register {args.artifact}" if args.artifact else f"train a model ({args.train_args})"
    print(f"Deployment in {var}: migrate, {what}", file=sys.stderr)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "collectstatic", "--noinput", "-v", "0")
    if args.artifact:
        _manage(env, "shell", "-c", REGISTER.format(folder=str(Path(args.artifact).resolve())))
    else:
        _manage(env, "train_model", *args.train_args.split())
    # One request at a time per worker: BLAS threads would only fight the other workers for cores.
    server_env = {
        **env,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for item in args.server_env:
        key, _, value = item.partition("=")
        server_env[key] = value
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "digitsite.wsgi",
            f"--workers={args.workers}",
            "--bind=127.0.0.1:0",
            "--no-control-socket",
            "--log-level=info",
            *args.gunicorn_args.split(),
        ],
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deployment = Deployment(url="", env=env, proc=proc, tmp=tmp)
    listening = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            deployment.lines.append(line)
            match = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line)
            if match and not deployment.url:
                deployment.url = match.group(1)
                listening.set()
        listening.set()

    threading.Thread(target=read, daemon=True).start()
    if not listening.wait(60) or not deployment.url:
        deployment.stop()
        raise SystemExit("gunicorn did not start:\n" + "".join(deployment.lines[-40:]))
    return deployment


# ---------------------------------------------------------------------------------------------
# Simulated users.


@dataclass
class Sample:
    kind: str
    ok: bool
    seconds: float
    finished: float
    detail: str = ""


class Run:
    def __init__(self, args: argparse.Namespace, url: str, images: dict[str, list[bytes]]):
        self.args = args
        self.url = url
        self.images = images
        self.prefix = f"load{uuid.uuid4().hex[:8]}"
        self.samples: list[Sample] = []
        self.upload_ids: list[int] = []
        self.lock = threading.Lock()
        self.uploads_started = 0
        self.deadline = 0.0
        weights = [args.canvas, args.photo, args.photo_12mp]
        self.weights = [w / sum(weights) for w in weights]

    def record(self, sample: Sample, upload_id: int | None = None) -> None:
        with self.lock:
            self.samples.append(sample)
            if upload_id is not None:
                self.upload_ids.append(upload_id)

    def take_upload_slot(self) -> bool:
        with self.lock:
            if self.uploads_started >= self.args.max_uploads or time.monotonic() >= self.deadline:
                return False
            self.uploads_started += 1
            return True

    def sign_up(self, index: int) -> requests.Session:
        session, response, seconds = sign_up_session(self.url, f"{self.prefix}-{index}")
        ok = response.status_code == 302
        self.record(Sample("signup", ok, seconds, time.monotonic(), _why(response)))
        if not ok:
            raise RuntimeError(f"sign-up failed: {response.status_code}")
        return session

    def sign_up_or_record(self, index: int) -> requests.Session | None:
        try:
            return self.sign_up(index)
        except Exception as exc:
            self.record(Sample("signup", False, 0.0, time.monotonic(), repr(exc)))
            return None

    def warm_up(self) -> None:
        """Every worker loads the model before the clock starts: this measures serving, not the
        cold start. The warm-up user's uploads are not counted (they have their own prefix)."""
        session, _, _ = sign_up_session(self.url, f"warm{self.prefix}")
        with ThreadPoolExecutor(max_workers=4) as pool:
            for response in pool.map(
                lambda _: session.post(
                    f"{self.url}/",
                    files={"image": ("warm.png", self.images["canvas"][0], "image/png")},
                    allow_redirects=False,
                    timeout=60,
                ),
                range(4 * self.args.workers),
            ):
                if response.status_code != 302:
                    raise SystemExit(f"warm-up upload failed: HTTP {response.status_code}")

    def user(self, index: int, session: requests.Session | None) -> None:
        if session is None:
            return
        rng = random.Random(self.args.seed * 1000 + index)
        uploads = 0
        while self.take_upload_slot():
            kind = rng.choices(KINDS, weights=self.weights)[0]
            self.upload(session, kind, rng.choice(self.images[kind]))
            uploads += 1
            if uploads % self.args.history_every == 0:
                self.history(session)

    def upload(self, session: requests.Session, kind: str, blob: bytes) -> None:
        name = "drawing.png" if kind == "canvas" else "IMG_0001.jpg"
        mime = "image/png" if kind == "canvas" else "image/jpeg"
        started = time.perf_counter()
        try:
            response = session.post(
                f"{self.url}/",
                files={"image": (name, blob, mime)},
                allow_redirects=False,
                timeout=60,
            )
        except requests.RequestException as exc:
            self.record(
                Sample(kind, False, time.perf_counter() - started, time.monotonic(), repr(exc))
            )
            return
        elapsed = time.perf_counter() - started
        match = DETAIL.match(response.headers.get("Location", ""))
        ok = response.status_code == 302 and match is not None
        self.record(
            Sample(kind, ok, elapsed, time.monotonic(), "" if ok else _why(response)),
            int(match.group(1)) if ok else None,
        )

    def history(self, session: requests.Session) -> None:
        started = time.perf_counter()
        try:
            response = session.get(f"{self.url}/predictions/", timeout=60)
            ok, why = response.status_code == 200, _why(response)
        except requests.RequestException as exc:
            ok, why = False, repr(exc)
        self.record(Sample("history", ok, time.perf_counter() - started, time.monotonic(), why))

    def go(self) -> float:
        """Sign everyone up, then run the users; returns the seconds of the timed part."""
        self.warm_up()
        with ThreadPoolExecutor(max_workers=self.args.users) as pool:
            sessions = list(pool.map(self.sign_up_or_record, range(self.args.users)))
            started = time.monotonic()
            self.deadline = started + self.args.duration
            list(pool.map(self.user, range(self.args.users), sessions))
        return time.monotonic() - started


def _why(response: requests.Response) -> str:
    return f"HTTP {response.status_code}"


# ---------------------------------------------------------------------------------------------
# Nothing lost: successful uploads = rows = stored files, and no orphan file.


def integrity(run: Run, env: dict[str, str]) -> dict:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitsite.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.storage import FileSystemStorage, default_storage

    from recognizer.models import Prediction

    rows = Prediction.objects.filter(owner__username__startswith=f"{run.prefix}-")
    row_ids = set(rows.values_list("pk", flat=True))
    names = {name for pair in rows.values_list("image", "thumbnail") for name in pair if name}
    result = {
        "successful_uploads": len(run.upload_ids),
        "rows": len(row_ids),
        "uploads_without_row": len(set(run.upload_ids) - row_ids),
        "rows_without_upload": len(row_ids - set(run.upload_ids)),
        "statuses": dict(
            sorted(
                (status, rows.filter(status=status).count())
                for status in set(rows.values_list("status", flat=True))
            )
        ),
    }
    if isinstance(default_storage, FileSystemStorage):
        media = Path(settings.MEDIA_ROOT)
        on_disk = {
            p.relative_to(media).as_posix()
            for folder in ("uploads", "thumbnails")
            for p in (media / folder).rglob("*")
            if p.is_file()
        }
        every_row = {
            name
            for pair in Prediction.objects.values_list("image", "thumbnail")
            for name in pair
            if name
        }
        result["stored_images"] = sum(1 for n in names if n.startswith("uploads/") and n in on_disk)
        result["files_missing"] = len(names - on_disk)
        result["orphan_files"] = len(on_disk - every_row)
    else:
        result["files_missing"] = sum(1 for n in names if not default_storage.exists(n))
        result["stored_images"] = len(row_ids) - result["files_missing"]
        result["orphan_files"] = None
    result["ok"] = (
        result["successful_uploads"] == result["rows"] == result["stored_images"]
        and result["uploads_without_row"] == result["rows_without_upload"] == 0
        and result["files_missing"] == 0
        and not result["orphan_files"]
    )
    return result


# ---------------------------------------------------------------------------------------------
# Report.


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def report(args, run: Run, elapsed: float, check: dict, database: str) -> dict:
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for sample in run.samples:
        by_kind[sample.kind].append(sample)
    steady = [s for s in run.samples if s.kind != "signup"]
    errors = [s for s in run.samples if not s.ok]
    rows = []
    for kind in (*KINDS, "history", "signup"):
        samples = by_kind.get(kind, [])
        if not samples:
            continue
        ok = [s.seconds * 1000 for s in samples if s.ok]
        rows.append(
            {
                "kind": kind,
                "ok": len(ok),
                "errors": len(samples) - len(ok),
                "per_second": len(ok) / elapsed,
                "p50_ms": percentile(ok, 50),
                "p95_ms": percentile(ok, 95),
            }
        )
    uploads_ok = sum(r["ok"] for r in rows if r["kind"] in KINDS)
    load = os.getloadavg()
    summary = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average before {args.load_before:.1f}, after "
        f"{load[0]:.1f}",
        "database": database,
        "workers": args.workers,
        "users": args.users,
        "seconds": round(elapsed, 2),
        "requests": len(steady),
        "requests_per_second": len(steady) / elapsed,
        "uploads_per_second": uploads_ok / elapsed,
        "errors": len(errors),
        "error_examples": sorted({f"{s.kind}: {s.detail}" for s in errors})[:5],
        "kinds": rows,
        "integrity": check,
    }
    lines = [
        f"{summary['date']} | {summary['machine']}",
        f"database {database}, gunicorn {args.workers} workers, {args.users} users, "
        f"{elapsed:.1f} s",
        "",
        "| kind | ok | errors | per s | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        rate = "-" if r["kind"] == "signup" else f"{r['per_second']:.1f}"
        lines.append(
            f"| {r['kind']} | {r['ok']} | {r['errors']} | {rate} | "
            f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} |"
        )
    lines += [
        "",
        f"requests/s {summary['requests_per_second']:.1f} (sign-ups excluded), uploads/s "
        f"{summary['uploads_per_second']:.1f}, errors {summary['errors']}",
        f"nothing lost: successful uploads {check['successful_uploads']} = rows {check['rows']} = "
        f"stored images {check['stored_images']}; missing files {check['files_missing']}, "
        f"orphan files {check['orphan_files']}; statuses {check['statuses']} -> "
        f"{'OK' if check['ok'] else 'FAILED'}",
    ]
    if summary["error_examples"]:
        lines.append(f"errors, e.g.: {summary['error_examples']}")
    print("\n".join(lines))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="target a running server instead of starting one")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--gunicorn-args", default="", help="extra gunicorn arguments")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment of the gunicorn server (default OMP/OPENBLAS/MKL_NUM_THREADS=1)",
    )
    parser.add_argument("--train-args", default="--n-estimators 100 --limit 10000")
    parser.add_argument(
        "--artifact",
        help="serve this trained artifact folder (forest.npz, metadata.json) instead of training",
    )
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of uploads")
    parser.add_argument("--max-uploads", type=int, default=20000)
    parser.add_argument("--canvas", type=float, default=0.7, help="share of canvas drawings")
    parser.add_argument("--photo", type=float, default=0.2, help="share of 2 MP photos")
    parser.add_argument("--photo-12mp", type=float, default=0.1, help="share of 12 MP photos")
    parser.add_argument("--history-every", type=int, default=5, help="uploads per history read")
    parser.add_argument("--variants", type=int, default=4, help="distinct images per kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print the summary as JSON")
    args = parser.parse_args(argv)
    args.load_before = os.getloadavg()[0]

    print("Making test images...", file=sys.stderr)
    images = {kind: make_images(kind, args.variants) for kind in KINDS}
    deployment = (
        Deployment(url=args.url.rstrip("/"), env=dict(os.environ))
        if args.url
        else start_deployment(args)
    )
    try:
        run = Run(args, deployment.url, images)
        print(f"Running {args.users} users for {args.duration:.0f} s...", file=sys.stderr)
        elapsed = run.go()
        check = integrity(run, deployment.env)
        from django.db import connection

        database = connection.vendor
        summary = report(args, run, elapsed, check, database)
        if args.json:
            print(json.dumps(summary, indent=2))
    finally:
        deployment.stop()
    return 0 if summary["errors"] == 0 and check["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
