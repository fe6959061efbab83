"""The admin in the site's name: the review queue and its count from the home page, "Retrain
now" on the list, and one progress and no verdict for a run still going."""

import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from recognizer import predictions, review
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


def test_admin_home_says_how_many_digits_wait_for_review(
    client, staff_user, user, active_model, digit_png, number_png
):
    singles = [
        predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png)) for _ in range(3)
    ]
    review.prediction_review(prediction=singles[0], label=singles[0].digit, reviewer=staff_user)
    number = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    assert number.digits.count() == 2
    client.force_login(staff_user)

    html = client.get(reverse("admin:index")).content.decode()

    # Two one-digit uploads and the number's two digits; the reviewed one no longer waits.
    assert 'data-testid="admin-review-waiting">(4 waiting)<' in html

    review.prediction_review(prediction=singles[1], label=singles[1].digit, reviewer=staff_user)
    html = client.get(reverse("admin:index")).content.decode()
    assert 'data-testid="admin-review-waiting">(3 waiting)<' in html


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


PERCENTAGES = re.compile(r"\d+%")
VERDICT_ICONS = ("icon-yes.svg", "icon-no.svg", "icon-unknown.svg")


def _row(listing: str, run: TrainingRun) -> str:
    """The list's row of `run`, from its checkbox to the end of the row."""
    start = listing.index(f'name="_selected_action" value="{run.pk}"')
    return listing[start : listing.index("</tr>", start)]


def test_runs_list_shows_one_progress_and_no_verdict_while_a_run_is_going(client, staff_user):
    running = TrainingRun.objects.create(
        state=TrainingRun.State.RUNNING, progress=11, stage="Forest: 20 of 30 trees"
    )
    queued = TrainingRun.objects.create(state=TrainingRun.State.QUEUED)
    rejected = TrainingRun.objects.create(
        state=TrainingRun.State.SUCCEEDED, progress=100, stage="Done", promoted=False
    )
    promoted = TrainingRun.objects.create(
        state=TrainingRun.State.SUCCEEDED, progress=100, stage="Done", promoted=True
    )
    client.force_login(staff_user)

    listing = client.get(RUNS).content.decode()

    row = _row(listing, running)
    assert PERCENTAGES.findall(row) == ["11%"]
    assert "Forest: 20 of 30 trees" in row
    assert not any(icon in row for icon in VERDICT_ICONS)
    row = _row(listing, queued)
    assert PERCENTAGES.findall(row) == ["0%"]
    assert "Waiting for the task worker" in row
    assert not any(icon in row for icon in VERDICT_ICONS)
    assert 'alt="Not promoted"' in _row(listing, rejected)
    assert 'alt="Promoted"' in _row(listing, promoted)


def test_a_running_runs_page_shows_one_progress_and_no_verdict(client, staff_user):
    run = TrainingRun.objects.create(
        state=TrainingRun.State.RUNNING, progress=42, stage="Features: 5000 of 60000 images"
    )
    client.force_login(staff_user)

    html = client.get(reverse("admin:recognizer_trainingrun_change", args=[run.pk])).content
    html = html.decode()

    fields = html[html.index('<fieldset class="module aligned') : html.index("</fieldset>")]
    assert PERCENTAGES.findall(fields) == ["42%"]
    assert "Features: 5000 of 60000 images" in fields
    start = fields.index("field-verdict")
    verdict = fields[start : fields.index("form-row", start)]
    assert "Promoted:" in verdict and "None" not in verdict
    assert not any(icon in fields for icon in VERDICT_ICONS)
