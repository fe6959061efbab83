"""Start real gunicorn servers for tests: each on a free loopback port, logs kept for failures."""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import requests
from django.conf import settings

LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Gunicorn:
    def __init__(self, name: str, env: dict[str, str], *, workers: int = 2) -> None:
        self.name = name
        self.lines: list[str] = []
        self._listening = threading.Event()
        self.url = ""
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "digitsite.wsgi",
                f"--workers={workers}",
                "--bind=127.0.0.1:0",
                "--no-control-socket",
                "--log-level=info",
                "--graceful-timeout=5",
            ],
            cwd=settings.BASE_DIR,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._listening.wait(timeout=60) or not self.url:
            self.stop()
            raise RuntimeError(f"gunicorn {name} did not start:\n{self.log()}")

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            match = LISTENING.search(line)
            if match and not self.url:
                self.url = match.group(1)
                self._listening.set()
        self._listening.set()

    def log(self) -> str:
        return "".join(self.lines[-80:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def log_in(base_url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base_url}/accounts/login/", timeout=30)
    response = session.post(
        f"{base_url}/accounts/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": csrf_token(page.text),
        },
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:500]
    return session
