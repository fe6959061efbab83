import csv
import hashlib
import io
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from PIL import Image

from recognizer import export, predictions, review

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(user, other_user, staff_user, active_model, digit_png, mnist_test_slice):
    from tests.conftest import digit_photo_bytes

    images, _ = mnist_test_slice
    same_a = predictions.prediction_create(user=user, image_file=io.BytesIO(digit_png))
    same_b = predictions.prediction_create(user=other_user, image_file=io.BytesIO(digit_png))
    other = predictions.prediction_create(
        user=user, image_file=io.BytesIO(digit_photo_bytes(images[1]))
    )
    junk = predictions.prediction_create(
        user=user, image_file=io.BytesIO(digit_photo_bytes(images[2]))
    )
    unreviewed = predictions.prediction_create(
        user=user, image_file=io.BytesIO(digit_photo_bytes(images[3]))
    )
    review.prediction_review(prediction=same_a, label=7, reviewer=staff_user)
    review.prediction_review(prediction=same_b, label=1, reviewer=staff_user)
    review.prediction_review(prediction=other, label=2, reviewer=staff_user)
    review.prediction_review(prediction=junk, label=3, reviewer=staff_user)
    review.prediction_exclude(prediction=junk, reviewer=staff_user)
    return {"same_b": same_b, "other": other, "unreviewed": unreviewed}


def _read(data: bytes):
    archive = zipfile.ZipFile(io.BytesIO(data))
    rows = list(csv.DictReader(io.StringIO(archive.read("labels.csv").decode())))
    return archive, rows


def _sha(prediction) -> str:
    with prediction.image.open("rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def test_export_command_writes_pngs_and_labels_without_duplicates(tmp_path, reviewed):
    out = tmp_path / "dataset.zip"
    stdout = io.StringIO()

    call_command("export_dataset", str(out), stdout=stdout)

    archive, rows = _read(out.read_bytes())
    assert "Wrote 2 images" in stdout.getvalue() and "1 duplicate" in stdout.getvalue()
    assert set(rows[0]) >= {"sha256", "label", "reviewer", "reviewed_at"}
    by_hash = {r["sha256"]: r for r in rows}
    # The image uploaded twice appears once, with its latest review (label 1).
    assert by_hash[_sha(reviewed["same_b"])]["label"] == "1"
    assert by_hash[_sha(reviewed["other"])]["label"] == "2"
    assert {r["reviewer"] for r in rows} == {"staff"}
    for row in rows:
        png = archive.read(f"images/{row['sha256']}.png")
        assert png.startswith(b"\x89PNG")
        assert hashlib.sha256(png).hexdigest() == row["sha256"]
    assert len([n for n in archive.namelist() if n.startswith("images/")]) == 2
    # And each reviewed digit of them, cut out (one digit each here).
    assert len([n for n in archive.namelist() if n.startswith("digits/")]) == 2


def test_export_command_refuses_a_bad_path(tmp_path):
    with pytest.raises(CommandError, match=r"\.zip"):
        call_command("export_dataset", str(tmp_path / "out.txt"))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_dataset", str(tmp_path / "missing" / "out.zip"))


def test_export_admin_action_downloads_the_selected_reviewed_rows(client, staff_user, reviewed):
    client.force_login(staff_user)
    selected = [reviewed["other"].pk, reviewed["unreviewed"].pk]

    response = client.post(
        reverse("admin:recognizer_prediction_changelist"),
        {"action": "export_dataset", "_selected_action": selected},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    _, rows = _read(b"".join(response.streaming_content))
    assert [r["sha256"] for r in rows] == [_sha(reviewed["other"])]


def test_export_writes_each_reviewed_digit_of_a_number_and_its_text(
    tmp_path, user, staff_user, active_model, number_png
):
    number = predictions.prediction_create(user=user, image_file=io.BytesIO(number_png))
    second = number.digits.get(position=1)
    review.digit_review(digit=second, label=2, reviewer=staff_user)
    out = io.BytesIO()

    summary = export.dataset_export(out=out)

    assert (summary.images, summary.digits) == (1, 1)
    archive, rows = _read(out.getvalue())
    (row,) = rows
    assert (row["label"], row["text"], row["reviewer"]) == ("", "?2", "staff")
    (digit_row,) = csv.DictReader(io.StringIO(archive.read("digits.csv").decode()))
    assert (digit_row["position"], digit_row["label"]) == ("1", "2")
    assert [int(digit_row[k]) for k in ("x0", "y0", "x1", "y1")] == list(second.box)
    crop = Image.open(io.BytesIO(archive.read(digit_row["file"])))
    assert crop.size == (second.width, second.height)
    assert digit_row["file"] == f"digits/{_sha(number)}-1.png"
