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


def label_change_save(row: Prediction | DigitReading, *, by, reason: str, **fields) -> None:
    """Set label ``fields`` on ``row`` and save them as one label-history entry by ``by``, with
    ``reason``; the first change also records the labels as they were stored."""
    label_history_start(row)
    for name, value in fields.items():
        setattr(row, name, value)
    # Every caller (site, admin, review screen, API, commands) names who changed the labels,
    # with or without a request in flight.
    row._history_user = by
    row._change_reason = reason
    row.save(update_fields=list(fields))
