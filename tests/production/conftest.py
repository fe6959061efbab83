"""A real gunicorn server with production settings, and a small HTTP client for it."""

import http.client
import io
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

PROJECT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-9"


def production_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a production deployment on SQLite, everything under var_dir."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "SQLITE_", "AXES_", "DIGITS_"))
        and key not in {"MEDIA_ROOT", "MODEL_DIR", "STATIC_ROOT", "PYTEST_CURRENT_TEST"}
    }
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DIGITS_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'db.sqlite3'}",
        MEDIA_ROOT=str(var_dir / "media"),
        MODEL_DIR=str(var_dir / "models"),
        STATIC_ROOT=str(var_dir / "staticfiles"),
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class HttpClient:
    """Talks to the server as a browser behind the HTTPS proxy would (X-Forwarded-Proto)."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        all_headers = {"X-Forwarded-Proto": "https", "Origin": f"https://127.0.0.1:{self.port}"}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        all_headers.update(headers or {})
        conn.request(method, path, body=body, headers=all_headers)
        raw = conn.getresponse()
        response = Response(raw.status, raw.headers, raw.read())
        conn.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str, password: str = PASSWORD) -> Response:
        token = self.csrf_token("/accounts/login/")
        body = f"csrfmiddlewaretoken={token}&username={username}&password={password}".encode()
        return self.request(
            "POST",
            "/accounts/login/",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def upload(self, data: bytes, filename: str = "digit.png") -> Response:
        token = self.csrf_token("/")
        boundary = uuid.uuid4().hex
        body = (
            (
                f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n'
                f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="image"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.request(
            "POST",
            "/",
            body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )


@dataclass
class Server:
    port: int
    var_dir: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen

    def client(self) -> HttpClient:
        return HttpClient(self.port)

    def log(self) -> str:
        return self.log_path.read_text()

    def stored_files(self) -> list[Path]:
        media = self.var_dir / "media"
        return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def wait_until_serving(port: int, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def prod_server(tmp_path_factory, tiny_artifact):
    """gunicorn (2 workers, preload) on SQLite with a user `alice` and the tiny model active."""
    var_dir = tmp_path_factory.mktemp("prod")
    port = free_port()
    env = production_env(var_dir, HOST="127.0.0.1", PORT=str(port), SQLITE_TIMEOUT="0.5")
    env["WEB_CONCURRENCY"] = "2"
    # One Django start-up instead of three: migrate, collect static files, add a user and a model.
    setup = (
        "from django.core.management import call_command; "
        "from django.contrib.auth import get_user_model; from recognizer import model_versions; "
        "call_command('migrate', verbosity=0); call_command('collectstatic', verbosity=0); "
        f"get_user_model().objects.create_user('alice', password='{PASSWORD}'); "
        "model_versions.model_version_register(version='tiny-1', "
        f"artifact_path={str(Path(tiny_artifact.path).resolve())!r}, "
        f"sha256={tiny_artifact.sha256!r}, params={{}}, metrics={{}})"
    )
    result = manage(env, "shell", "-c", setup)
    assert result.returncode == 0, result.stderr

    log_path = var_dir / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_serving(port, process, log_path)
        yield Server(port, var_dir, env, log_path, process)
    finally:
        # SIGINT is gunicorn's quick shutdown; nothing is in flight by now.
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def png_bytes(image: Image.Image, **save_kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save_kwargs)
    return buffer.getvalue()
