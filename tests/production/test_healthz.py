import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from recognizer import registry

from .conftest import PROJECT, production_env

pytestmark = pytest.mark.django_db


def test_healthz_is_200_with_database_and_model(client, active_model):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"ok": True}, "model": {"ok": True, "version": "tiny-1"}},
        "failed": [],
    }
    assert not response.cookies
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_naming_the_model_when_none_is_active(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["model"]
    assert body["checks"]["database"] == {"ok": True}
    assert "No model is active" in body["checks"]["model"]["error"]


def test_healthz_is_503_when_the_artifact_is_missing(client, active_model, tiny_artifact, tmp_path):
    active_model.artifact_path = str(tmp_path / "gone.joblib")
    active_model.save()
    registry.reset()

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["failed"] == ["model"]
    assert "cannot be loaded" in response.json()["checks"]["model"]["error"]


def test_healthz_needs_no_login_and_refuses_post(client):
    assert client.post(reverse("healthz")).status_code == 405


def test_healthz_is_503_naming_the_database_when_it_does_not_answer(tmp_path: Path):
    # A real server process whose database is a PostgreSQL port where nothing listens.
    env = production_env(tmp_path, DATABASE_URL="postgres://digits:x@127.0.0.1:9/digits")
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz', HTTP_HOST='127.0.0.1'); "
        "print(r.status_code); print(r.content.decode())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT,
        env={**env, "DJANGO_SETTINGS_MODULE": "digitsite.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    status, body = result.stdout.strip().splitlines()[-2:]
    assert status == "503", result.stderr
    body = json.loads(body)
    assert body["failed"] == ["database", "model"]
    assert "does not answer" in body["checks"]["database"]["error"]


def test_healthz_is_one_query_once_the_model_is_loaded(
    client, active_model, settings, django_assert_num_queries
):
    settings.MODEL_REFRESH_SECONDS = 60
    assert client.get(reverse("healthz")).status_code == 200

    with django_assert_num_queries(1):
        response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert not response.cookies
