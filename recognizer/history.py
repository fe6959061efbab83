"""Label history (django-simple-history): which saves are label changes, and their "from"."""

import contextlib

from .models import DigitReading, Prediction


@contextlib.contextmanager
def no_label_history(prediction: Prediction):
    """Save without a label-history row: storing an upload and the model's result (or failure)
    are not label changes, and skipping them saves a transaction on every upload."""
    prediction.skip_history_when_saving = True
    try:
        yield
    finally:
        del prediction.skip_history_when_saving


def label_history_start(row: Prediction | DigitReading) -> None:
    """Before the first label change of an upload or one of its digits, record its labels as
    stored, so the change has a "from" in the history. Read from the database: callers may have
    changed the instance."""
    model = type(row)
    if model.history.filter(id=row.pk).exists():
        return
    if model is DigitReading:
        stored = DigitReading.objects.select_related("prediction__owner").get(pk=row.pk)
        upload = stored.prediction
    else:
        stored = upload = Prediction.objects.select_related("owner").get(pk=row.pk)
    model.history.bulk_history_create(
        [stored],
        default_user=upload.owner,
        default_change_reason="upload",
        default_date=upload.created_at,
    )
