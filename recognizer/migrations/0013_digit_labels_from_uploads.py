"""Every label moves to the digits: a one-digit upload's claim, review and exclusion (and their
history) become its digit's; a number's exclusion becomes each of its digits'.

A migration of its own, between the schema changes, for PostgreSQL (see 0009).
"""

from django.db import migrations

LABELS = ["user_label", "user_label_at", "true_label", "reviewed_by_id", "reviewed_at"]


def _box(prediction) -> tuple[int, int]:
    from PIL import Image

    try:
        with prediction.image.open("rb") as fh, Image.open(fh) as image:
            return image.size
    except Exception:
        return (0, 0)


def _history_row(HistoricalDigit, digit, source, labels: dict, excluded: bool):
    return HistoricalDigit(
        id=digit.pk,
        prediction_id=digit.prediction_id,
        position=digit.position,
        digit=digit.digit,
        excluded_from_training=excluded,
        history_date=source.history_date,
        history_change_reason=source.history_change_reason,
        history_type=source.history_type,
        history_user_id=source.history_user_id,
        **labels,
    )


def labels_to_digits(apps, schema_editor):
    Prediction = apps.get_model("recognizer", "Prediction")
    Digit = apps.get_model("recognizer", "Digit")
    HistoricalPrediction = apps.get_model("recognizer", "HistoricalPrediction")
    HistoricalDigit = apps.get_model("recognizer", "HistoricalDigit")

    # A read upload without digit rows gets its one digit, as 0009 did.
    lone = Prediction.objects.filter(digit__isnull=False, model_input__isnull=False, digits=None)
    for prediction in lone.iterator(chunk_size=500):
        width, height = _box(prediction)
        Digit.objects.create(
            prediction_id=prediction.pk,
            position=0,
            x0=0,
            y0=0,
            x1=width,
            y1=height,
            model_input=prediction.model_input,
            digit=prediction.digit,
            confidence=prediction.confidence or 0.0,
            probabilities=prediction.probabilities or [],
            low_confidence=prediction.low_confidence,
        )

    uploads = Prediction.objects.filter(digits__isnull=False).distinct().order_by("id")
    for prediction in uploads.iterator(chunk_size=500):
        digits = list(Digit.objects.filter(prediction_id=prediction.pk).order_by("position"))
        history = list(
            HistoricalPrediction.objects.filter(id=prediction.pk).order_by(
                "history_date", "history_id"
            )
        )
        if len(digits) == 1 and len(prediction.text) <= 1:
            _one_digit(prediction, digits[0], history, HistoricalDigit)
        else:
            _number(prediction, digits, history, HistoricalDigit)


def _one_digit(prediction, digit, history, HistoricalDigit) -> None:
    """The upload's labels were the digit's (kept in step with it), plus the exclusion; its
    history holds every change of them, the digit's only those made since numbers were read."""
    for name in LABELS:
        setattr(digit, name, getattr(prediction, name))
    digit.excluded_from_training = prediction.excluded_from_training
    digit.save()
    if not history:
        return
    HistoricalDigit.objects.filter(id=digit.pk).delete()
    HistoricalDigit.objects.bulk_create(
        [
            _history_row(
                HistoricalDigit,
                digit,
                row,
                {name: getattr(row, name) for name in LABELS},
                row.excluded_from_training,
            )
            for row in history
        ]
    )


def _number(prediction, digits, history, HistoricalDigit) -> None:
    """A number's labels were already its digits'; only its exclusion moves, each change of it
    recorded on every digit with that digit's labels of the time."""
    if prediction.excluded_from_training:
        for digit in digits:
            digit.excluded_from_training = True
            if digit.reviewed_at is None:
                digit.reviewed_by_id = prediction.reviewed_by_id
                digit.reviewed_at = prediction.reviewed_at
            digit.save()
    excluded = False
    rows = []
    for change in history:
        if change.excluded_from_training == excluded:
            continue
        excluded = change.excluded_from_training
        for digit in digits:
            before = (
                HistoricalDigit.objects.filter(id=digit.pk, history_date__lte=change.history_date)
                .order_by("-history_date", "-history_id")
                .first()
            )
            labels = {name: getattr(before or digit, name) for name in LABELS}
            rows.append(_history_row(HistoricalDigit, digit, change, labels, excluded))
    HistoricalDigit.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0012_digit_labels")]

    operations = [migrations.RunPython(labels_to_digits, migrations.RunPython.noop)]
