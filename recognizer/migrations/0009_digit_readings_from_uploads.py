"""Every upload read so far becomes one DigitReading.

A migration of its own: 0008's indexes are created at the end of its transaction, and
PostgreSQL refuses to create an index on a table whose rows that transaction has just changed.
"""

from django.db import migrations


def one_digit_each(apps, schema_editor):
    """Every upload so far was read as one digit: it becomes its own single DigitReading, its
    labels and review copied, its box the whole stored image (its size from the PNG header)."""
    from PIL import Image

    Prediction = apps.get_model("recognizer", "Prediction")
    DigitReading = apps.get_model("recognizer", "DigitReading")
    Prediction.objects.update(mode="digit")
    batch = []
    results = Prediction.objects.filter(digit__isnull=False, model_input__isnull=False)
    for prediction in results.order_by("id").iterator(chunk_size=500):
        try:
            with prediction.image.open("rb") as fh, Image.open(fh) as image:
                width, height = image.size
        except Exception:
            width = height = 0
        Prediction.objects.filter(pk=prediction.pk).update(text=str(prediction.digit))
        batch.append(
            DigitReading(
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
                user_label=prediction.user_label,
                user_label_at=prediction.user_label_at,
                true_label=prediction.true_label,
                reviewed_by_id=prediction.reviewed_by_id,
                reviewed_at=prediction.reviewed_at,
            )
        )
        if len(batch) >= 500:
            DigitReading.objects.bulk_create(batch)
            batch = []
    DigitReading.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0008_digit_readings")]

    operations = [migrations.RunPython(one_digit_each, migrations.RunPython.noop)]
