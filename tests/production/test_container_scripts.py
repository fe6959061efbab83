"""The container image's helpers (scripts/container_*.py), run as the image runs them.

`make container-test` runs them inside the compose stack; these check what they do on their own.
"""

import subprocess
import sys

import pytest

from .conftest import PROJECT, free_port, production_env


def run_script(name: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, f"scripts/{name}", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def live_port(live_server) -> str:
    return live_server.url.rsplit(":", 1)[1]


@pytest.mark.django_db(transaction=True)
def test_healthcheck_passes_on_a_healthy_site_asking_for_an_allowed_host(
    live_server, active_model, tmp_path
):
    env = production_env(tmp_path, PORT=live_port(live_server), DJANGO_ALLOWED_HOSTS="localhost")
    result = run_script("container_healthcheck.py", env)
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
def test_healthcheck_fails_while_no_model_is_active(live_server, tmp_path):
    env = production_env(tmp_path, PORT=live_port(live_server), DJANGO_ALLOWED_HOSTS="localhost")
    result = run_script("container_healthcheck.py", env)
    assert result.returncode == 1
    assert "503" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_healthcheck_asks_for_the_first_allowed_host(live_server, active_model, tmp_path):
    # The site answers to 127.0.0.1 and localhost only: a check that sends another name fails.
    env = production_env(
        tmp_path,
        PORT=live_port(live_server),
        DJANGO_ALLOWED_HOSTS="digits.example.com,localhost",
    )
    result = run_script("container_healthcheck.py", env)
    assert result.returncode == 1
    assert "400" in result.stderr


def test_healthcheck_fails_when_nothing_listens(tmp_path):
    env = production_env(tmp_path, PORT=str(free_port()))
    result = run_script("container_healthcheck.py", env)
    assert result.returncode == 1
    assert "healthz:" in result.stderr


def test_init_runs_the_command_once_the_database_answers_and_returns_its_status(tmp_path):
    env = production_env(tmp_path)
    marker = tmp_path / "ran"
    command = f"open({str(marker)!r}, 'w').write('yes'); raise SystemExit(3)"
    result = run_script("container_init.py", env, "--", sys.executable, "-c", command)
    assert result.returncode == 3, result.stderr
    assert marker.read_text() == "yes"


def test_init_gives_up_with_a_clear_message_when_the_database_never_answers(tmp_path):
    unreachable = f"postgres://digits:secret@127.0.0.1:{free_port()}/digits"
    env = production_env(tmp_path, DATABASE_URL=unreachable)
    marker = tmp_path / "ran"
    command = f"open({str(marker)!r}, 'w').write('yes')"
    result = run_script(
        "container_init.py", env, "--timeout", "1", "--", sys.executable, "-c", command
    )
    assert result.returncode == 1
    assert "The database did not accept connections within 1 s" in result.stderr
    assert not marker.exists()
