"""Container start-up (scripts/container-start.sh): wait until the database accepts connections,
then run a command while holding a lock that every container of the stack shares.

    python scripts/container_init.py [--timeout SECONDS] -- COMMAND...

On PostgreSQL the lock is a session advisory lock, released when the command ends or when this
process dies with its connection. SQLite (one container) needs none.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitsite.settings")
os.environ.setdefault("DIGITS_LOG_STREAM", "stderr")

import django

# An arbitrary key of the application's own: 'Dgts' in ASCII.
LOCK_KEY = 0x44677473


def wait_for_database(timeout: float) -> None:
    from django.db import OperationalError, connection

    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError as exc:
            if time.monotonic() > deadline:
                sys.exit(f"The database did not accept connections within {timeout:.0f} s: {exc}")
            print("Waiting for the database...", file=sys.stderr, flush=True)
            connection.close()
            time.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()

    django.setup()
    from django.db import connection

    wait_for_database(args.timeout)
    if connection.vendor != "postgresql":
        return subprocess.call(args.command)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        try:
            return subprocess.call(args.command)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


if __name__ == "__main__":
    sys.exit(main())
