import io
import os
import time

import pytest
from django.conf import settings
from django.core.management import call_command

from recognizer import predictions
from recognizer.models import Prediction

pytestmark = pytest.mark.django_db


def orphans(*args) -> str:
    out = io.StringIO()
    call_command("orphans", *args, stdout=out)
    return out.getvalue()


def make_old(path):
    an_hour_and_more_ago = time.time() - 2 * 3600
    os.utime(path, (an_hour_and_more_ago, an_hour_and_more_ago))


@pytest.fixture
def scene(user, active_model, digit_png):
    """One healthy prediction, one whose image is gone, one stray file, one fresh stray file."""
    healthy = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    broken = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    os.remove(broken.image.path)
    media = settings.MEDIA_ROOT
    stray = media / "uploads" / "2020" / "01" / "stray.png"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left behind by a crash")
    make_old(stray)
    fresh = media / "thumbnails" / "fresh.png"
    fresh.write_bytes(b"an upload in progress")
    unrelated = media / "elsewhere.txt"
    unrelated.write_text("not ours")
    make_old(unrelated)
    return {"healthy": healthy, "broken": broken, "stray": stray, "fresh": fresh}


def test_default_lists_orphans_and_changes_nothing(scene):
    output = orphans()

    assert "orphan file: uploads/2020/01/stray.png" in output
    assert f"prediction #{scene['broken'].pk} has no file: {scene['broken'].image.name}" in output
    assert "fresh.png" not in output
    assert "elsewhere.txt" not in output
    assert f"#{scene['healthy'].pk} " not in output
    assert "1 orphan file(s), 1 prediction(s) without a file. Nothing was changed." in output
    assert scene["stray"].exists()
    assert Prediction.objects.count() == 2


def test_delete_removes_orphan_files_but_keeps_rows(scene):
    output = orphans("--delete")

    assert "deleted orphan file: uploads/2020/01/stray.png" in output
    assert not scene["stray"].exists()
    assert scene["fresh"].exists()
    assert Prediction.objects.filter(pk=scene["broken"].pk).exists()
    assert os.path.exists(scene["healthy"].image.path)
    assert os.path.exists(scene["healthy"].thumbnail.path)


def test_delete_rows_deletes_predictions_whose_image_is_gone(
    scene, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        output = orphans("--delete-rows")

    assert f"deleted prediction #{scene['broken'].pk}" in output
    assert list(Prediction.objects.values_list("pk", flat=True)) == [scene["healthy"].pk]
    assert scene["stray"].exists()


def test_dry_run_wins_over_delete(scene):
    output = orphans("--delete", "--delete-rows", "--dry-run")

    assert "Nothing was changed." in output
    assert scene["stray"].exists()
    assert Prediction.objects.count() == 2


def test_min_age_zero_counts_fresh_files(scene):
    assert "orphan file: thumbnails/fresh.png" in orphans("--min-age", "0")


def test_nothing_to_report_on_a_clean_store(user, active_model, digit_png):
    predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))

    assert orphans().strip() == (
        "0 orphan file(s), 0 prediction(s) without a file. Nothing was changed."
    )


@pytest.fixture
def three_uploads(user, active_model, digit_png):
    return [
        predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png)) for _ in range(3)
    ]


def stored_files() -> list:
    return [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def test_admin_delete_of_one_prediction_removes_its_files(
    client, staff_user, three_uploads, django_capture_on_commit_callbacks
):
    client.force_login(staff_user)
    target = three_uploads[0]
    url = f"/admin/recognizer/prediction/{target.pk}/delete/"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"post": "yes"}).status_code == 302

    assert not Prediction.objects.filter(pk=target.pk).exists()
    assert len(stored_files()) == 4
    assert "0 orphan file(s)" in orphans("--min-age", "0")


def test_admin_bulk_delete_removes_every_file(
    client, staff_user, three_uploads, django_capture_on_commit_callbacks
):
    client.force_login(staff_user)
    data = {
        "action": "delete_selected",
        "_selected_action": [p.pk for p in three_uploads],
        "post": "yes",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/admin/recognizer/prediction/", data).status_code == 302

    assert Prediction.objects.count() == 0
    assert stored_files() == []


def test_deleting_a_user_removes_their_files(
    user, three_uploads, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user.delete()

    assert Prediction.objects.count() == 0
    assert stored_files() == []


def test_a_rolled_back_delete_keeps_the_files(user, three_uploads):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        three_uploads[0].delete()
        raise RuntimeError("the request failed after the delete")

    assert Prediction.objects.count() == 3
    assert len(stored_files()) == 6
