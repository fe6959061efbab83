import hashlib
import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from ml.crop import to_mnist
from recognizer import (
    images,
    model_versions,
    predictions,
    promotion,
    registry,
    retraining,
    retraining_data,
    review,
    training_runs,
)
from recognizer.models import Digit, ModelVersion, TrainingRun
from testkit.shapes import slashed_zero_png

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _small_and_fast(settings):
    settings.TASKS = IMMEDIATE
    settings.MODEL_REFRESH_SECONDS = 0
    # The tiny active model is 10 trees on 2000 MNIST images; candidates are trained alike.
    settings.RETRAIN_MNIST_LIMIT = 2000
    settings.RETRAIN_MNIST_TEST_LIMIT = 1000


def test_heldout_slice_is_a_stable_fifth_by_hash_of_the_id():
    ids = range(1, 2001)
    held = [i for i in ids if retraining_data.is_heldout(i)]
    assert held == [i for i in ids if int(hashlib.sha256(str(i).encode()).hexdigest(), 16) % 5 == 0]
    assert 0.17 < len(held) / 2000 < 0.23


@pytest.mark.parametrize(
    ("candidate", "active", "cand_held", "active_held", "held_n", "passes", "words"),
    [
        # The case: a hair worse on MNIST, no held-out reviewed digit at all.
        (0.9930, 0.9932, None, None, 0, False, "Not enough evidence: scored on 0 held-out"),
        (0.9930, 0.9932, 0.9, 0.8, 19, False, "at least 20 are needed"),
        (0.9930, 0.9932, 0.9, 0.8, 20, True, "Passed the gate"),
        # Two standard errors at 99.32% on 10,000 digits are 0.16 points.
        (0.9917, 0.9932, 1.0, 0.5, 40, True, "Passed the gate"),
        (0.9915, 0.9932, 1.0, 0.0, 40, False, "by more than the noise"),
        (0.9990, 0.9932, 0.8, 0.8, 40, False, "not better than the active model's 80.00%"),
        (0.500, None, None, None, 0, True, "No usable active model"),
    ],
)
def test_promotion_gate_wants_evidence(
    candidate, active, cand_held, active_held, held_n, passes, words
):
    ok, reason = promotion.promotion_gate(
        candidate_mnist=candidate,
        active_mnist=active,
        mnist_n=10_000,
        candidate_heldout=cand_held,
        active_heldout=active_held,
        heldout_n=held_n,
    )
    assert ok is passes
    assert words in reason


def test_the_mnist_noise_is_two_binomial_standard_errors():
    assert promotion.mnist_noise(0.9932, 10_000) == pytest.approx(
        2 * (0.9932 * 0.0068 / 1e4) ** 0.5
    )
    # Fewer test digits, more noise.
    assert promotion.mnist_noise(0.9932, 1000) > promotion.mnist_noise(0.9932, 10_000)


@pytest.mark.django_db
def test_a_candidate_with_no_heldout_reviewed_digits_is_not_promoted_on_its_own(
    client, staff_user, active_model
):
    # Far more trees than the 10-tree active model: better on MNIST, but no reviewed evidence.
    outcome = retraining.retrain(n_estimators=40, copies=0)

    candidate = outcome.candidate
    candidate.refresh_from_db()
    assert not outcome.promoted
    assert candidate.status == ModelVersion.Status.CANDIDATE
    assert ModelVersion.objects.active() == active_model
    assert candidate.status_note.startswith("Waiting for staff: Not enough evidence")
    client.force_login(staff_user)
    stats = client.get(reverse("admin:recognizer_modelversion_stats", args=[candidate.pk]))
    assert "Waiting for staff: Not enough evidence" in stats.content.decode()

    # Staff can still promote it by hand.
    model_versions.model_version_promote(model_version=candidate, user=staff_user)
    assert ModelVersion.objects.active() == candidate


def test_augment_makes_shifted_rotated_copies():
    image = np.zeros((1, 28, 28), dtype=np.uint8)
    image[0, 8:20, 12:16] = 255
    copies = retraining_data.augment(image, 6, seed=1)
    assert copies.shape == (6, 28, 28) and copies.dtype == np.uint8
    assert all(not np.array_equal(c, image[0]) for c in copies)
    # Still the same stroke: most of the ink survives the small moves.
    assert all(0.6 < c.sum() / image.sum() < 1.4 for c in copies)


def _read_rate(model, inputs: np.ndarray, label: int) -> float:
    return float((model.predict_proba(inputs).argmax(axis=1) == label).mean())


@pytest.mark.django_db
def test_staff_corrections_of_a_new_kind_teach_the_retrained_model(
    client, user, staff_user, active_model, settings
):
    """The issue's done-when on small data: 40 square slashed zeros (a kind MNIST lacks) are
    corrected in the review screen, `retrain` builds and promotes a candidate, and NEW uploads of
    that kind are read far better, by the model the site now serves."""
    corrections = [
        predictions.prediction_create(
            user=user, image_file=io.BytesIO(slashed_zero_png(np.random.default_rng(i)))
        )
        for i in range(40)
    ]
    new_pngs = [slashed_zero_png(np.random.default_rng(10_000 + i)) for i in range(30)]
    new_inputs = np.stack([to_mnist(images.load_upload(io.BytesIO(p))) for p in new_pngs])
    _, baseline = registry.get_active_model()
    before = _read_rate(baseline, new_inputs, 0)
    # The tiny model misreads this kind often (about a third to a half of the time here).
    assert np.mean([p.digit == 0 for p in corrections]) <= 0.7
    assert before <= 0.75

    client.force_login(staff_user)
    for p in corrections:
        body = json.dumps({"action": "label", "label": 0})
        decide = reverse("api:prediction-decision", args=[p.pk])
        assert client.post(decide, body, content_type="application/json").status_code == 200

    # 40 corrections hold out about 8: evidence enough on this small scale (the default asks 20).
    settings.PROMOTION_MIN_HELDOUT = 1
    # More trees than the 10-tree active model, so that the gate's MNIST comparison is not a coin
    # toss between two tiny forests (the held-out split follows the database's ids).
    call_command("retrain", "--n-estimators", "40", stdout=io.StringIO(), stderr=io.StringIO())

    version, served = registry.get_active_model()
    assert version != active_model and version.parent == active_model
    assert version.status == ModelVersion.Status.ACTIVE
    after = _read_rate(served, new_inputs, 0)
    assert after >= 0.9
    assert after - before >= 0.25
    # The gate passed on the same MNIST test slice and the same held-out items.
    noise = promotion.mnist_noise(version.metrics["active_accuracy_same_test"], 1000)
    assert version.metrics["accuracy"] >= version.metrics["active_accuracy_same_test"] - noise
    held = set(version.heldout_metrics["ids"])
    trained = set(version.training_data["correction_ids"])
    assert held and trained and not held & trained
    assert held | trained == {p.pk for p in corrections}
    assert all(retraining_data.is_heldout(pk) for pk in held)
    assert version.heldout_metrics["accuracy"] > version.heldout_metrics["active_accuracy"]
    assert version.training_data["mnist"] == 2000
    # And the upload path serves it.
    upload = predictions.prediction_create(user=user, image_file=io.BytesIO(new_pngs[0]))
    assert upload.model_version == version


@pytest.mark.django_db
def test_a_candidate_that_fails_the_gate_stays_a_candidate_until_forced(
    client, staff_user, active_model
):
    out = io.StringIO()
    # One tree on 300 images: clearly worse on MNIST than the active model.
    call_command("retrain", "--n-estimators", "1", "--mnist-limit", "300", stdout=out, stderr=out)

    candidate = ModelVersion.objects.exclude(pk=active_model.pk).get()
    assert candidate.status == ModelVersion.Status.CANDIDATE
    assert "by more than the noise" in candidate.status_note
    assert "stays a candidate" in out.getvalue()
    assert ModelVersion.objects.active() == active_model
    client.force_login(staff_user)
    page = client.get(reverse("admin:recognizer_modelversion_change", args=[candidate.pk]))
    assert "by more than the noise" in page.content.decode()

    call_command(
        "retrain", "--force", "--n-estimators", "1", "--mnist-limit", "300", stdout=io.StringIO()
    )
    forced = ModelVersion.objects.active()
    assert forced not in (active_model, candidate)
    assert "--force" in forced.status_note


@pytest.mark.django_db
def test_admin_action_retrains_in_a_background_task_and_shows_its_state(
    client, staff_user, active_model
):
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:recognizer_modelversion_changelist"),
        {"action": "retrain_with_corrections", "_selected_action": [active_model.pk]},
        follow=True,
    )

    assert "Retraining queued" in response.content.decode()
    run = TrainingRun.objects.get()
    assert run.state == TrainingRun.State.SUCCEEDED
    assert run.progress == 100
    assert run.task_id
    assert run.requested_by == staff_user
    assert run.candidate is not None
    listing = client.get(reverse("admin:recognizer_trainingrun_changelist")).content.decode()
    assert "Succeeded" in listing
    assert '<progress max="100" value="100" data-state="succeeded">' in listing
    assert "js/training_runs.js" in listing


@pytest.mark.django_db(transaction=True)
def test_database_backend_queues_the_run_and_db_worker_runs_it(
    settings, client, staff_user, active_model
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    client.force_login(staff_user)

    client.post(
        reverse("admin:recognizer_prediction_changelist"),
        {"action": "retrain_with_corrections", "_selected_action": [0]},
    )
    run = TrainingRun.objects.get()
    assert run.state == TrainingRun.State.QUEUED
    listing = client.get(reverse("admin:recognizer_trainingrun_changelist")).content.decode()
    assert 'data-state="queued"' in listing

    call_command(
        "db_worker",
        "--batch",
        "--no-startup-delay",
        "--no-reload",
        verbosity=0,
        stdout=io.StringIO(),
    )

    run.refresh_from_db()
    assert run.state == TrainingRun.State.SUCCEEDED
    assert run.candidate is not None


@pytest.mark.django_db
def test_a_second_run_is_refused_while_one_is_queued(staff_user):
    training_runs.training_run_create(requested_by=staff_user)
    with pytest.raises(training_runs.RetrainRefused):
        training_runs.training_run_create(requested_by=staff_user)
    with pytest.raises(CommandError, match="already Queued"):
        call_command("retrain", stdout=io.StringIO())


@pytest.mark.django_db
def test_retrain_uses_reviewed_non_excluded_uploads_only(user, staff_user, active_model, digit_png):
    rows = [
        predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png)) for _ in range(3)
    ]
    reviewed, excluded, _unreviewed = rows
    review.prediction_review(prediction=reviewed, label=7, reviewer=staff_user)
    review.prediction_review(prediction=excluded, label=7, reviewer=staff_user)
    review.prediction_exclude(prediction=excluded, reviewer=staff_user)

    outcome = retraining.retrain(n_estimators=2, copies=2)

    data = outcome.candidate.training_data
    used = set(data["correction_ids"]) | set(data["heldout_ids"])
    assert used == {reviewed.pk}
    assert Digit.objects.training_usable().count() == 1


@pytest.mark.django_db
def test_retraining_uses_every_reviewed_digit_of_numbers(
    user, staff_user, active_model, number_png
):
    number = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    junk = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    first, second = number.digits.order_by("position")
    review.digit_review(digit=first, label=4, reviewer=staff_user)
    review.digit_review(digit=second, label=2, reviewer=staff_user)
    for digit in junk.digits.all():
        review.digit_review(digit=digit, label=1, reviewer=staff_user)
    review.prediction_exclude(prediction=junk, reviewer=staff_user)

    train, heldout = retraining_data.split_reviewed()

    used = train + heldout
    assert [(d.prediction_id, d.position) for d in used] == [(number.pk, 0), (number.pk, 1)]
    # A number's digits fall on the same side of the split.
    assert (train, heldout) in (([], used), (used, []))
    images_, labels = retraining_data.model_inputs(used)
    assert list(labels) == [4, 2]
    assert images_.shape == (2, 28, 28)
    assert images_[1].tobytes() == bytes(second.model_input)
