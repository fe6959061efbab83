"""Two app servers (two gunicorn instances) share one PostgreSQL database and one bucket."""

import re
import time
from urllib.parse import quote

import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token

from recognizer import model_versions
from recognizer.models import ModelVersion, Prediction

from .conftest import copy_artifact
from .servers import Gunicorn, csrf_token, log_in

pytestmark = [pytest.mark.two_servers, pytest.mark.django_db(transaction=True)]

REFRESH_SECONDS = 0.5
# The admin action that promotes a version (see recognizer/admin.py).
PROMOTE_ACTION = "promote_candidate"
PLAIN_STATIC_STORAGE = "django.contrib.staticfiles.storage.StaticFilesStorage"
# The upload budget of each test's users (the first test uploads 5 images as alice).
UPLOADS_PER_MINUTE = 6


@pytest.fixture(autouse=True)
def _fast_passwords():
    """The real hasher here: these users log in through gunicorn servers in other processes,
    which verify with the deployment's hashers, not the test process's fast one."""


def postgres_url() -> str:
    if connection.vendor != "postgresql":
        pytest.fail(
            "The two-server test needs PostgreSQL, which both servers share; this run uses "
            f"{connection.vendor}. Run it with DATABASE_URL=$(bash scripts/ensure-postgres.sh) "
            "(.ci/run does this)."
        )
    db = connection.settings_dict
    credentials = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def two_servers(s3_storage, settings, tiny_artifact, tmp_path):
    """Servers A and B on the test database and one bucket, each with an empty MODEL_DIR."""
    database_url = postgres_url()
    # Registered here (a third machine), so both servers must fetch it from the bucket.
    for version in ["tiny-a", "tiny-b"]:
        model_versions.model_version_register(
            version=version,
            artifact_path=copy_artifact(tiny_artifact, settings.MODEL_DIR, version),
            sha256=tiny_artifact.sha256,
            params={},
            metrics={},
            activate=version == "tiny-a",
        )
    servers = {}
    try:
        for name in ["a", "b"]:
            env = {
                **s3_storage.env,
                "DATABASE_URL": database_url,
                "DJANGO_DEBUG": "false",
                # Plain HTTP on loopback, and static files from their source folders.
                "DJANGO_HTTPS": "false",
                "DJANGO_STATICFILES_STORAGE": PLAIN_STATIC_STORAGE,
                "DJANGO_SECRET_KEY": "two-servers-test-key-" + "x" * 40,
                "DIGITS_VAR_DIR": str(tmp_path / f"server-{name}"),
                "MODEL_DIR": str(tmp_path / f"server-{name}" / "models"),
                "MEDIA_ROOT": str(tmp_path / f"server-{name}" / "media"),
                "MODEL_REFRESH_SECONDS": str(REFRESH_SECONDS),
                "UPLOAD_RATE": f"{UPLOADS_PER_MINUTE}/min",
            }
            servers[name] = Gunicorn(name, env)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def upload(session: requests.Session, base_url: str, png: bytes) -> int:
    page = session.get(f"{base_url}/", timeout=30)
    response = session.post(
        f"{base_url}/",
        data={"csrfmiddlewaretoken": csrf_token(page.text)},
        files={"image": ("digit.png", png, "image/png")},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:500]
    return int(re.fullmatch(r"/predictions/(\d+)/", response.headers["Location"]).group(1))


def test_two_servers_share_uploads_and_the_active_model(
    two_servers, s3_storage, user, staff_user, digit_png, tmp_path
):
    a, b = two_servers["a"].url, two_servers["b"].url
    alice_a = log_in(a, "alice", "correct-horse-9")
    alice_b = log_in(b, "alice", "correct-horse-9")

    # An upload through A appears in the history through B, image included.
    pk = upload(alice_a, a, digit_png)
    history = alice_b.get(f"{b}/predictions/", timeout=30)
    assert history.status_code == 200
    assert f'href="/predictions/{pk}/"' in history.text
    image = alice_b.get(f"{b}/predictions/{pk}/image", allow_redirects=False, timeout=30)
    assert image.status_code == 302
    fetched = requests.get(image.headers["Location"], timeout=30)
    assert fetched.headers["Content-Type"] == "image/png"
    assert fetched.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert Prediction.objects.get(pk=pk).model_version.version == "tiny-a"

    # Staff promote tiny-b through A's admin.
    staff_a = log_in(a, "staff", "correct-horse-9")
    changelist = f"{a}/admin/recognizer/modelversion/"
    page = staff_a.get(changelist, timeout=30)
    assert page.status_code == 200
    tiny_b = ModelVersion.objects.get(version="tiny-b")
    response = staff_a.post(
        changelist,
        data={
            "csrfmiddlewaretoken": csrf_token(page.text),
            "action": PROMOTE_ACTION,
            "_selected_action": [tiny_b.pk],
        },
        allow_redirects=False,
        timeout=30,
    )
    promoted_at = time.monotonic()
    assert response.status_code == 302, response.text[:500]
    assert ModelVersion.objects.active() == tiny_b

    # B's workers re-check the active version at most every MODEL_REFRESH_SECONDS: once that has
    # passed, every prediction through B uses tiny-b (four uploads reach both of its workers).
    time.sleep(max(0.0, promoted_at + REFRESH_SECONDS - time.monotonic()))
    new_pks = [upload(alice_b, b, digit_png) for _ in range(4)]
    versions = {p.model_version.version for p in Prediction.objects.filter(pk__in=new_pks)}
    assert versions == {"tiny-b"}
    detail = alice_a.get(f"{a}/predictions/{new_pks[0]}/", timeout=30)
    assert "tiny-b" in detail.text

    # Each server fetched the models from the bucket into its own cache; no image touched a disk.
    assert (tmp_path / "server-b" / "models" / "tiny-b" / "model.npz").is_file()
    for name in ["a", "b"]:
        media = tmp_path / f"server-{name}" / "media"
        assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
    assert len(s3_storage.keys("uploads/")) == Prediction.objects.count() == 5


def test_the_api_upload_limit_is_one_budget_across_servers_and_workers(
    two_servers, user, digit_png
):
    # One locked budget in the shared database: a per-process count would grant each of the 4
    # workers its own.
    token = Token.objects.create(user=user)
    a, b = two_servers["a"].url, two_servers["b"].url
    statuses = [
        requests.post(
            f"{url}/api/predictions/",
            files={"image": ("digit.png", digit_png, "image/png")},
            headers={"Authorization": f"Token {token.key}"},
            timeout=30,
        ).status_code
        for url in [a, b] * 4 + [a]
    ]
    assert statuses == [201] * UPLOADS_PER_MINUTE + [429] * 3
    assert Prediction.objects.filter(owner=user).count() == UPLOADS_PER_MINUTE
