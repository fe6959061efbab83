"""Label history (django-simple-history on Digit): which saves are label changes, and their
"from"."""

from .models import Digit


def label_history_start(digit: Digit) -> None:
    """Before the first label change of a digit, record its labels as stored, so the change has
    a "from" in the history. Read from the database: callers may have changed the instance."""
    if Digit.history.filter(id=digit.pk).exists():
        return
    stored = Digit.objects.select_related("prediction__owner").get(pk=digit.pk)
    Digit.history.bulk_history_create(
        [stored],
        default_user=stored.prediction.owner,
        default_change_reason="upload",
        default_date=stored.prediction.created_at,
    )


def label_change_save(digit: Digit, *, by, reason: str, **fields) -> None:
    """Set label ``fields`` on ``digit`` and save them as one label-history entry by ``by``, with
    ``reason``; the first change also records the labels as they were stored."""
    label_history_start(digit)
    for name, value in fields.items():
        setattr(digit, name, value)
    # Every caller (site, admin, review screen, API, commands) names who changed the labels,
    # with or without a request in flight.
    digit._history_user = by
    digit._change_reason = reason
    digit.save(update_fields=list(fields))
