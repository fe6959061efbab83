"""Label history (django-simple-history): which saves are label changes, and their "from"."""

import contextlib

from .models import Prediction


@contextlib.contextmanager
def no_label_history(prediction: Prediction):
    """Save without a label-history row: storing an upload and the model's result (or failure)
    are not label changes, and skipping them saves a transaction on every upload."""
    prediction.skip_history_when_saving = True
    try:
        yield
    finally:
        del prediction.skip_history_when_saving


def label_history_start(prediction: Prediction) -> None:
    """Before an upload's first label change, record its labels as stored, so the change has a
    "from" in the history. Read from the database: callers may have changed the instance."""
    if Prediction.history.filter(id=prediction.pk).exists():
        return
    stored = Prediction.objects.select_related("owner").get(pk=prediction.pk)
    Prediction.history.bulk_history_create(
        [stored],
        default_user=stored.owner,
        default_change_reason="upload",
        default_date=stored.created_at,
    )
