import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

PROJECT = Path(__file__).resolve().parents[2]
SMTP = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE = "django.core.mail.backends.console.EmailBackend"


def _env(tmp_path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "EMAIL_", "DEFAULT_FROM_EMAIL", "DIGITS_"))
    }
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DIGITS_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    env.update(extra)
    return env


def _mail_settings(env: dict[str, str]) -> dict:
    code = (
        "import json; from digitsite import settings as s; print(json.dumps({k: getattr(s, k) "
        "for k in ['EMAIL_BACKEND', 'EMAIL_HOST', 'EMAIL_PORT', 'EMAIL_HOST_USER', "
        "'EMAIL_HOST_PASSWORD', 'EMAIL_USE_TLS', 'DEFAULT_FROM_EMAIL', "
        "'PASSWORD_RESET_ENABLED']}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_development_prints_mail_to_the_console(tmp_path):
    values = _mail_settings(_env(tmp_path, DJANGO_DEBUG="true"))

    assert values["EMAIL_BACKEND"] == CONSOLE
    assert values["PASSWORD_RESET_ENABLED"] is True


def test_production_without_a_mail_server_turns_password_reset_off(tmp_path):
    values = _mail_settings(_env(tmp_path))

    assert values["EMAIL_BACKEND"] == SMTP
    assert values["PASSWORD_RESET_ENABLED"] is False


def test_production_sends_mail_over_smtp_from_the_environment(tmp_path):
    values = _mail_settings(
        _env(
            tmp_path,
            EMAIL_HOST="smtp.example.com",
            EMAIL_PORT="2525",
            EMAIL_HOST_USER="digits",
            EMAIL_HOST_PASSWORD="s3cret",
            EMAIL_USE_TLS="false",
            DEFAULT_FROM_EMAIL="Digits <noreply@example.com>",
        )
    )

    assert values == {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 2525,
        "EMAIL_HOST_USER": "digits",
        "EMAIL_HOST_PASSWORD": "s3cret",
        "EMAIL_USE_TLS": False,
        "DEFAULT_FROM_EMAIL": "Digits <noreply@example.com>",
        "PASSWORD_RESET_ENABLED": True,
    }


def test_console_mail_in_production_does_not_enable_password_reset(tmp_path):
    values = _mail_settings(_env(tmp_path, EMAIL_BACKEND=CONSOLE))

    assert values["PASSWORD_RESET_ENABLED"] is False


def test_start_up_warns_that_password_reset_is_off_and_deploy_check_stays_clean(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
    assert "password_reset_disabled" in result.stderr


@pytest.mark.django_db
def test_login_page_hides_the_reset_link_when_reset_is_off(client, settings):
    settings.PASSWORD_RESET_ENABLED = False

    page = client.get(reverse("login")).content.decode()

    assert 'data-testid="password-reset-link"' not in page


@pytest.mark.django_db
def test_login_page_links_to_password_reset_when_it_is_on(client, settings):
    settings.PASSWORD_RESET_ENABLED = True

    page = client.get(reverse("login")).content.decode()

    assert 'data-testid="password-reset-link"' in page
    assert reverse("password_reset") in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/reset/done/",
    ],
)
def test_reset_pages_say_reset_is_unavailable_when_it_is_off(client, settings, url):
    settings.PASSWORD_RESET_ENABLED = False

    response = client.get(url)

    assert response.status_code == 404
    assert "not available on this site; ask an administrator" in response.content.decode()


@pytest.mark.django_db
def test_reset_request_sends_no_mail_when_reset_is_off(client, settings, user):
    settings.PASSWORD_RESET_ENABLED = False
    user.email = "alice@example.com"
    user.save()

    client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert mail.outbox == []
