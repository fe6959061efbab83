import io
import itertools
import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from recognizer import predictions, review
from recognizer.models import Digit, Prediction
from tests.conftest import copies_of

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:recognizer_prediction_changelist"
REVIEW = "admin:recognizer_prediction_review"
DECIDE = "api:prediction-decision"


@pytest.fixture
def uploads(user, active_model, digit_png):
    first = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    assert first.status == Prediction.Status.DONE
    return [first, *copies_of(first, 3)]


def _history(prediction: Prediction):
    """The label history of a one-digit upload's digit."""
    return Digit.history.filter(prediction_id=prediction.pk)


def _label_changes(prediction: Prediction) -> list[tuple]:
    """(who, old, new) for every recorded change of true_label, oldest first."""
    changes = []
    records = list(_history(prediction).order_by("history_date", "history_id"))
    for older, newer in itertools.pairwise(records):
        delta = newer.diff_against(older)
        for change in delta.changes:
            if change.field == "true_label":
                changes.append((newer.history_user, change.old, change.new, newer.history_date))
    return changes


def _decide(client, pk: int, **body):
    return client.post(
        reverse(DECIDE, args=[pk]), json.dumps(body), content_type="application/json"
    )


def test_queue_lists_claims_then_low_confidence_then_rest_unreviewed_first(
    client, staff_user, uploads
):
    claim, low, rest, reviewed = uploads
    Digit.objects.filter(prediction=rest).update(low_confidence=False, confidence=0.6)
    Digit.objects.filter(prediction=low).update(low_confidence=True, confidence=0.3)
    Digit.objects.filter(prediction=claim).update(low_confidence=False, confidence=0.99)
    predictions.prediction_feedback(prediction=claim, label=(claim.digit + 1) % 10)
    Digit.objects.filter(prediction=reviewed).update(low_confidence=True, confidence=0.1)
    review.prediction_review(prediction=reviewed, label=2, reviewer=staff_user)
    client.force_login(staff_user)

    response = client.get(reverse(CHANGELIST))

    order = [p.pk for p in response.context["cl"].result_list]
    assert order == [claim.pk, low.pk, rest.pk, reviewed.pk]
    review_page = client.get(reverse(REVIEW))
    assert [d.prediction_id for d in review_page.context["items"]] == [claim.pk, low.pk, rest.pk]


def test_accept_owner_label_action(client, staff_user, uploads):
    claimed, unclaimed = uploads[:2]
    predictions.prediction_feedback(prediction=claimed, label=4)
    client.force_login(staff_user)

    client.post(
        reverse(CHANGELIST),
        {"action": "accept_user_label", "_selected_action": [claimed.pk, unclaimed.pk]},
    )

    claimed.refresh_from_db()
    unclaimed.refresh_from_db()
    assert claimed.true_label == 4
    assert claimed.reviewed_by == staff_user
    assert unclaimed.true_label is None
    assert _label_changes(claimed)[-1][:3] == (staff_user, None, 4)


def test_set_label_action_for_each_digit(client, staff_user, uploads):
    client.force_login(staff_user)
    page = client.get(reverse(CHANGELIST))
    choices = dict(page.context["action_form"].fields["action"].choices)
    assert {f"set_label_{d}" for d in range(10)} <= set(choices)

    client.post(
        reverse(CHANGELIST),
        {"action": "set_label_7", "_selected_action": [p.pk for p in uploads[:2]]},
    )

    labelled = Prediction.objects.filter(digits__true_label=7).values_list("pk", flat=True)
    assert sorted(labelled) == sorted(p.pk for p in uploads[:2])


def test_exclude_action_keeps_junk_out_of_training_and_the_queue(client, staff_user, uploads):
    junk = uploads[0]
    client.force_login(staff_user)

    client.post(
        reverse(CHANGELIST), {"action": "exclude_from_training", "_selected_action": [junk.pk]}
    )

    junk.refresh_from_db()
    assert junk.excluded_from_training
    assert junk.reviewed_by == staff_user
    assert junk not in Prediction.objects.needs_review()
    review.prediction_review(prediction=junk, label=1, reviewer=staff_user)
    assert not Digit.objects.training_usable().filter(prediction=junk).exists()
    assert _history(junk).latest().history_user == staff_user


def test_list_edit_records_who_when_old_and_new(client, staff_user, uploads):
    target = uploads[0]
    review.prediction_review(prediction=target, label=1, reviewer=staff_user)
    client.force_login(staff_user)
    page = client.get(reverse(CHANGELIST))
    rows = list(page.context["cl"].result_list)
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": str(len(rows)), "_save": "1"}
    for i, p in enumerate(rows):
        data[f"form-{i}-id"] = str(p.pk)
        label = 6 if p.pk == target.pk else p.true_label
        data[f"form-{i}-true_label"] = "" if label is None else str(label)

    assert client.post(reverse(CHANGELIST), data).status_code == 302

    who, old, new, when = _label_changes(target)[-1]
    assert (who, old, new) == (staff_user, 1, 6)
    target.refresh_from_db()
    assert when == target.reviewed_at or abs((when - target.reviewed_at).total_seconds()) < 5


def test_an_upload_writes_no_history_until_its_first_label_change(
    client, user, staff_user, uploads
):
    target = uploads[0]
    assert not _history(target).exists()
    client.force_login(staff_user)
    rows = list(client.get(reverse(CHANGELIST)).context["cl"].result_list)
    data = {"form-TOTAL_FORMS": str(len(rows)), "form-INITIAL_FORMS": str(len(rows)), "_save": "1"}
    for i, p in enumerate(rows):
        data[f"form-{i}-id"] = str(p.pk)
        data[f"form-{i}-true_label"] = "6" if p.pk == target.pk else ""

    # The admin's form has set the new label on the instance before the service sees it; the
    # "before" record must still hold the stored state.
    assert client.post(reverse(CHANGELIST), data).status_code == 302

    before, after = _history(target).order_by("history_date", "history_id")
    assert (before.history_type, before.history_user, before.true_label) == ("+", user, None)
    assert (after.history_type, after.history_user, after.true_label) == ("~", staff_user, 6)
    assert before.history_change_reason == "upload"
    assert before.history_date == target.created_at
    assert [(who, old, new) for who, old, new, _ in _label_changes(target)] == [
        (staff_user, None, 6)
    ]


def test_services_record_the_reviewer_without_a_request(staff_user, uploads):
    # The API and the commands call the service with no request in flight.
    target = uploads[0]
    review.prediction_review(prediction=target, label=9, reviewer=staff_user)
    review.prediction_review(prediction=target, label=8, reviewer=staff_user)

    changes = _label_changes(target)
    assert [(who, old, new) for who, old, new, _ in changes] == [
        (staff_user, None, 9),
        (staff_user, 9, 8),
    ]


def test_owner_feedback_is_recorded_as_the_owner(user, uploads):
    predictions.prediction_feedback(prediction=uploads[0], label=5)
    record = _history(uploads[0]).latest()
    assert record.history_user == user
    assert record.user_label == 5


def test_review_screen_shows_unreviewed_grid_with_script_file_and_no_inline_code(
    client, staff_user, uploads
):
    review.prediction_review(prediction=uploads[0], label=1, reviewer=staff_user)
    client.force_login(staff_user)

    response = client.get(reverse(REVIEW))

    assert response.status_code == 200
    html = response.content.decode()
    shown = {int(pk) for pk in re.findall(r'data-id="(\d+)"', html)}
    assert shown == {p.pk for p in uploads[1:]}
    assert 'src="/static/js/review.js"' in html
    assert "csrfmiddlewaretoken" in html
    # CSP: every script comes from a file; no inline handlers or style attributes of ours.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    main = html[html.index('id="review"') :]
    assert " style=" not in main
    assert not re.search(r"\son[a-z]+=", main)


def test_review_screen_marks_claims_and_offers_a_button_per_decision(client, staff_user, uploads):
    claimed = uploads[1]
    predictions.prediction_feedback(prediction=claimed, label=(claimed.digit + 1) % 10)
    client.force_login(staff_user)

    html = client.get(reverse(REVIEW)).content.decode()

    claims = re.findall(r'data-id="(\d+)"[^>]*?data-claim="(\d)"', html, re.S)
    assert claims == [(str(claimed.pk), str((claimed.digit + 1) % 10))]
    assert '<span id="review-waiting" data-testid="review-waiting">4</span>' in html
    keys = re.findall(r'<button type="button" class="review-key[^"]*" data-key="([^"]+)"', html)
    assert keys == [*"0123456789", "n", "Enter", "a", "x"]
    assert "<kbd>A</kbd> accept the owner's label" in html


def test_review_screen_and_endpoint_are_for_reviewers_only(client, user, uploads):
    client.force_login(user)
    assert client.get(reverse(REVIEW)).status_code == 302
    # The owner may see the upload, but not decide on it: being its owner is not reviewing.
    response = _decide(client, uploads[0].pk, action="label", label=3)
    assert response.status_code == 403
    uploads[0].refresh_from_db()
    assert uploads[0].true_label is None


def test_endpoint_labels_confirms_accepts_claims_and_excludes(client, staff_user, uploads):
    labelled, confirmed, excluded, claimed = uploads
    claim = (claimed.digit + 1) % 10
    predictions.prediction_feedback(prediction=claimed, label=claim)
    client.force_login(staff_user)

    body = _decide(client, labelled.pk, action="label", label=3).json()
    assert (body["id"], body["true_label"], body["excluded_from_training"]) == (
        labelled.pk,
        3,
        False,
    )
    assert _decide(client, confirmed.pk, action="confirm").status_code == 200
    assert _decide(client, excluded.pk, action="exclude").json()["excluded_from_training"] is True
    assert _decide(client, claimed.pk, action="accept_claim").json()["true_label"] == claim

    for p in uploads:
        p.refresh_from_db()
    assert labelled.true_label == 3
    assert confirmed.true_label == confirmed.digit
    assert excluded.excluded_from_training and excluded.true_label is None
    assert claimed.true_label == claim
    assert _label_changes(labelled)[-1][:3] == (staff_user, None, 3)
    assert _label_changes(confirmed)[-1][0] == staff_user


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ("not json", 400, "JSON parse error"),
        (json.dumps({"action": "label", "label": 12}), 400, "digit from 0 to 9"),
        (json.dumps({"action": "label", "label": True}), 400, "digit from 0 to 9"),
        (json.dumps({"action": "label"}), 400, "digit from 0 to 9"),
        (json.dumps({"action": "delete"}), 400, "label, confirm, accept_claim, exclude"),
        (json.dumps({"action": "accept_claim"}), 400, "has not named a digit"),
        (json.dumps([1, 2]), 400, "dictionary"),
        (json.dumps({"a": [[[[[[[[[[1]]]]]]]]]]} | {"action": "label"}), 400, "digit from 0 to 9"),
    ],
)
def test_endpoint_refuses_bad_input_with_a_sentence(
    client, staff_user, uploads, body, status, words
):
    client.force_login(staff_user)

    url = reverse(DECIDE, args=[uploads[0].pk])
    response = client.post(url, body, content_type="application/json")

    assert response.status_code == status
    assert words in response.json()["detail"]
    assert response.json()["error"] in {"invalid", "missing_field", "parse_error"}
    uploads[0].refresh_from_db()
    assert uploads[0].true_label is None


def test_endpoint_answers_404_for_an_unknown_upload(client, staff_user, uploads):
    client.force_login(staff_user)
    response = _decide(client, 999999, action="confirm")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_endpoint_needs_post_and_the_csrf_token(staff_user, uploads):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    url = reverse(DECIDE, args=[uploads[0].pk])
    assert client.get(url).status_code == 405

    body = json.dumps({"action": "label", "label": 2})
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 403

    page = client.get(reverse(REVIEW))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    accepted = client.post(
        url, body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 200
    uploads[0].refresh_from_db()
    assert uploads[0].true_label == 2


def test_admin_history_page_lists_label_changes(client, staff_user, uploads):
    target = uploads[0]
    review.prediction_review(prediction=target, label=4, reviewer=staff_user)
    client.force_login(staff_user)

    digit = target.digits.get()
    response = client.get(reverse("admin:recognizer_digit_history", args=[digit.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "staff" in html
    assert "True label" in html or "true label" in html.lower()
