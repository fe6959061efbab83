"""Load benchmark: locust users against gunicorn on loopback, then a check that nothing was lost.

By default it builds a throwaway deployment in a temporary folder (SQLite, or the database given
by --database-url / DATABASE_URL: use a dedicated one, the run activates its own model there),
migrates it, trains a model (or serves --artifact), starts gunicorn with --workers, warms every
worker up, and runs locust headless with the users of benchmarks/locustfile.py for --run-time.
With --url it targets a running server instead; run it then with the server's DATABASE_URL and
MEDIA_ROOT so the check after the run reads the same database and files.

Each locust user signs up, then uploads with no pause (canvas drawings, 2 MP and 12 MP phone
photos) or reads its history; the statistics start once all have signed up. It prints locust's
requests/s and p50/p95 per kind, the failures, and checks that the successful uploads locust
counted = rows = stored images, with no orphan file. Exit status 1 on any failure or any lost or
orphaned upload. Arguments it does not know go to locust as they are.

    .venv/bin/python benchmarks/load.py --users 8 --run-time 30s
    .venv/bin/python benchmarks/load.py --artifact var/models/<version> --users 4 CanvasDrawer
    .venv/bin/python benchmarks/load.py --database-url postgres://digits:...@127.0.0.1/digits_bench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.integrity import integrity  # noqa: E402
from benchmarks.workload import KINDS, make_images, sign_up_session  # noqa: E402

LOCUSTFILE = ROOT / "benchmarks" / "locustfile.py"


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
from recognizer import model_versions
from ml.predict import artifact_file
from recognizer.models import ModelVersion
folder = pathlib.Path({folder!r})
meta = json.loads((folder / "metadata.json").read_text())
version = ModelVersion.objects.filter(version=meta["version"]).first() or (
    model_versions.model_version_register(
        version=meta["version"], kind=meta.get("kind", "rf"),
        artifact_path=str(artifact_file(folder)),
        sha256=meta["sha256"], params=meta.get("params", {{}}), metrics=meta.get("metrics", {{}}),
    )
)
if version.status != "active":
    model_versions.model_version_activate(model_version=version)
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
        # A simulated user uploads hundreds of images a minute: the per-user upload budget that
        # stops a real one would measure the budget, not the server.
        "UPLOAD_RATE": "1000000/min",
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
# The users: a warm-up, then locust.


def warm_up(url: str, workers: int) -> None:
    """Every worker loads the model before locust starts: this measures serving, not the cold
    start. The warm-up user's uploads are not counted (its name has no run prefix)."""
    session, _, _ = sign_up_session(url, f"warm{uuid.uuid4().hex[:8]}")
    drawing = make_images("canvas", variants=1)[0]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for response in pool.map(
            lambda _: session.post(
                f"{url}/",
                files={"image": ("warm.png", drawing, "image/png")},
                allow_redirects=False,
                timeout=60,
            ),
            range(4 * workers),
        ):
            if response.status_code != 302:
                raise SystemExit(f"warm-up upload failed: HTTP {response.status_code}")


def run_locust(args: argparse.Namespace, url: str, prefix: str, json_prefix: Path) -> int:
    """Locust headless for --run-time; its statistics go to <json_prefix>.json."""
    command = [
        sys.executable,
        "-m",
        "locust",
        f"--locustfile={LOCUSTFILE}",
        "--headless",
        f"--host={url}",
        f"--users={args.users}",
        f"--spawn-rate={args.spawn_rate or args.users}",
        f"--run-time={args.run_time}",
        # Users finish the request they are in: an upload locust did not see end would be a row
        # the check below cannot tell from a lost one.
        "--stop-timeout=60",
        "--reset-stats",
        f"--json-file={json_prefix}",
        "--only-summary",
        f"--username-prefix={prefix}",
        *args.locust_args,
    ]
    print(" ".join(command[1:]), file=sys.stderr)
    return subprocess.run(command, cwd=ROOT).returncode


@dataclass
class Kind:
    name: str
    ok: int
    failures: int
    per_second: float
    p50_ms: float
    p95_ms: float


def read_stats(json_prefix: Path) -> list[Kind]:
    """Locust's counts and response times per request name, from the JSON it writes at the end
    (its CSV is rewritten once a second, so it can miss the last requests).

    A rate is the answers after an entry's first one over the time from that first answer to its
    last, and a percentile is taken from locust's response-time histogram the way locust does."""
    entries = json.loads(Path(f"{json_prefix}.json").read_text())
    kinds = []
    for entry in sorted(entries, key=lambda e: e["name"]):
        count, failures = entry["num_requests"], entry["num_failures"]
        window = (entry["last_request_timestamp"] or 0) - entry["start_time"]
        histogram = sorted((int(ms), n) for ms, n in entry["response_times"].items())
        kinds.append(
            Kind(
                name=entry["name"],
                ok=count - failures,
                failures=failures,
                per_second=(count - 1) / window if window > 0 else float("nan"),
                p50_ms=_percentile(histogram, count, 0.50),
                p95_ms=_percentile(histogram, count, 0.95),
            )
        )
    return kinds


def _percentile(histogram: list[tuple[int, int]], count: int, fraction: float) -> float:
    """locust.stats.calculate_response_time_percentile, without importing locust (and gevent's
    monkey-patching) into this process."""
    seen = 0
    for ms, n in reversed(histogram):
        seen += n
        if count - seen <= int(count * fraction):
            return ms
    return float("nan")


# ---------------------------------------------------------------------------------------------
# Report.


def report(args, kinds: list[Kind], check: dict, database: str) -> None:
    load = os.getloadavg()
    uploads = [k for k in kinds if k.name in KINDS]
    lines = [
        f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC} | {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average before {args.load_before:.1f}, "
        f"after {load[0]:.1f}",
        f"database {database}, gunicorn {args.workers} workers, {args.users} locust users, "
        f"{args.run_time}",
        "",
        "| kind | ok | failures | per s | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for k in kinds:
        lines.append(
            f"| {k.name} | {k.ok} | {k.failures} | {k.per_second:.1f} | {k.p50_ms:.0f} | "
            f"{k.p95_ms:.0f} |"
        )
    lines += [
        "",
        f"uploads/s {sum(k.per_second for k in uploads):.1f}, failures "
        f"{sum(k.failures for k in kinds)}",
        f"nothing lost: signed up {check['signed_up']} of {args.users}; successful uploads "
        f"{check['successful_uploads']} = rows {check['rows']} = stored images "
        f"{check['stored_images']}; missing files {check['files_missing']}, orphan files "
        f"{check['orphan_files']}; statuses {check['statuses']} -> "
        f"{'OK' if check['ok'] else 'FAILED'}",
    ]
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Other arguments go to locust as they are: user classes to run (default all, by "
        "weight: CanvasDrawer, PhotoUploader, TwelveMPUploader, HistoryBrowser), "
        "--config-users, ...",
        allow_abbrev=False,
    )
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
        help="serve this trained artifact folder (model.npz, metadata.json) instead of training",
    )
    parser.add_argument("--users", type=int, default=8, help="locust users")
    parser.add_argument(
        "--spawn-rate", type=float, help="users started per second (default: all at once)"
    )
    parser.add_argument("--run-time", default="30s", help="locust's run time, e.g. 30s or 2m")
    parser.add_argument(
        "--json-file", type=Path, help="keep locust's statistics in <JSON_FILE>.json"
    )
    args, args.locust_args = parser.parse_known_args(argv)
    args.load_before = os.getloadavg()[0]

    deployment = (
        Deployment(url=args.url.rstrip("/"), env=dict(os.environ))
        if args.url
        else start_deployment(args)
    )
    try:
        prefix = f"load{uuid.uuid4().hex[:8]}"
        warm_up(deployment.url, args.workers)
        with tempfile.TemporaryDirectory(prefix="digits-locust-") as scratch:
            json_prefix = args.json_file or Path(scratch) / "stats"
            code = run_locust(args, deployment.url, prefix, json_prefix)
            kinds = read_stats(json_prefix)
        uploads = sum(k.ok for k in kinds if k.name in KINDS)
        check = integrity(args.users, uploads, prefix, deployment.env)
        from django.db import connection

        report(args, kinds, check, connection.vendor)
    finally:
        deployment.stop()
    return 0 if code == 0 and check["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
