import pytest
from django.urls import reverse

from recognizer import model_versions

pytestmark = pytest.mark.django_db


def test_models_list_shows_versions_and_metrics(alice, active_model):
    newer = model_versions.model_version_register(
        version="tiny-2",
        artifact_path=active_model.artifact_path,
        sha256=active_model.sha256,
        params={"n_estimators": 20},
        metrics={"accuracy": 0.93},
        activate=False,
        parent=active_model,
    )

    body = alice.get(reverse("api:model-list")).json()

    assert body["count"] == 2
    by_version = {item["version"]: item for item in body["results"]}
    assert by_version["tiny-1"]["is_active"] is True
    assert by_version["tiny-1"]["metrics"] == {"accuracy": 0.9}
    assert by_version[newer.version]["status"] == "candidate"
    assert by_version[newer.version]["parent"] == "tiny-1"
    assert by_version[newer.version]["params"] == {"n_estimators": 20}
    assert "artifact_path" not in by_version["tiny-1"]


def test_active_model(alice, active_model):
    response = alice.get(reverse("api:model-active"))
    assert response.status_code == 200
    assert response.json()["version"] == active_model.version


def test_internals_are_for_staff_only(alice, client, staff_user, active_model):
    """Hardening 14: other users' prediction ids, checksums and staff names stay with staff."""
    active_model.training_data = {"correction_ids": [987654321]}
    active_model.status_note = "Promoted by staff"
    active_model.save()

    public = alice.get(reverse("api:model-active")).json()
    client.force_login(staff_user)
    internal = client.get(reverse("api:model-active")).json()

    for name in ("sha256", "training_data", "heldout_metrics", "status_note"):
        assert name not in public
    # A long id cannot turn up by chance inside a timestamp, as "41" once did.
    assert "987654321" not in str(public) and "staff" not in str(public)
    assert internal["sha256"] == active_model.sha256
    assert internal["training_data"]["correction_ids"] == [987654321]


def test_models_need_authentication(db, client):
    assert client.get(reverse("api:model-list")).status_code == 401
    assert client.get(reverse("api:model-active")).status_code == 401
