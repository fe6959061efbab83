"""The admin in the site's name: the review queue from the home page, "Retrain now" on the list."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from recognizer.models import TrainingRun

pytestmark = pytest.mark.django_db

RETRAIN = reverse("admin:recognizer_trainingrun_retrain")
RUNS = reverse("admin:recognizer_trainingrun_changelist")


@pytest.fixture
def queued_tasks(settings):
    # Queued only: the list's button is tested, not the training itself.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def _staff(django_user_model, *codenames: str):
    user = django_user_model.objects.create_user(
        username="runner", password="correct-horse-9", is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def test_admin_is_branded_and_links_the_review_queue(client, staff_user):
    client.force_login(staff_user)
    html = client.get(reverse("admin:index")).content.decode()

    assert "<title>Reviews, models and retraining | Digits admin</title>" in html
    assert "Digits administration" in html
    assert f'href="{reverse("admin:recognizer_prediction_review")}"' in html


def test_admin_home_hides_the_review_queue_from_staff_who_cannot_review(client, django_user_model):
    client.force_login(_staff(django_user_model, "view_trainingrun"))
    html = client.get(reverse("admin:index")).content.decode()

    assert reverse("admin:recognizer_prediction_review") not in html


@pytest.mark.usefixtures("queued_tasks")
def test_retrain_now_queues_a_run_without_a_selection(client, django_user_model):
    user = _staff(django_user_model, "view_trainingrun", "start_retraining")
    client.force_login(user)
    listing = client.get(RUNS).content.decode()
    assert f'action="{RETRAIN}"' in listing
    assert 'data-testid="retrain-now"' in listing

    response = client.post(RETRAIN, follow=True)

    run = TrainingRun.objects.get()
    assert run.state == TrainingRun.State.QUEUED
    assert run.requested_by == user
    assert response.redirect_chain[-1][0] == RUNS
    assert f"training run #{run.pk}" in response.content.decode()


@pytest.mark.usefixtures("queued_tasks")
def test_retrain_now_while_a_run_is_queued_says_why_and_queues_nothing(client, staff_user):
    client.force_login(staff_user)
    client.post(RETRAIN, follow=True)

    response = client.post(RETRAIN, follow=True)

    assert TrainingRun.objects.count() == 1
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1
    assert "is already Queued" in messages[0]


def test_retrain_now_needs_the_permission(client, django_user_model):
    client.force_login(_staff(django_user_model, "view_trainingrun"))

    assert 'data-testid="retrain-now"' not in client.get(RUNS).content.decode()
    assert client.post(RETRAIN).status_code == 403
    assert TrainingRun.objects.count() == 0


def test_retrain_now_is_post_only(client, staff_user):
    client.force_login(staff_user)

    assert client.get(RETRAIN).status_code == 405
    assert TrainingRun.objects.count() == 0
