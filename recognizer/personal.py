"""Personal reading on the site: each user's memory of their own corrections (``ml.personal``).

A user's memory is built from the digits of their own uploads that carry a label: the staff's
reviewed label where there is one, else the owner's claim; never from another user's uploads.
Labels set before the user last cleared their corrections are left out (they stay on the digits
for staff review). The memory is cached per user under a fingerprint of those rows, so any label
change, deleted upload or clearing builds it afresh from the rows.
"""

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from ml.features import FEATURES_VERSION
from ml.personal import MEMORY_LIMIT, Memory

from .models import Digit, PersonalReading

CACHE_SECONDS = 24 * 3600
# Memories kept in the process too: a full one is 2 MB, too slow to unpickle on every read.
RECENT_MEMORIES = 32
_recent: OrderedDict[str, Memory] = OrderedDict()
_recent_lock = threading.Lock()


@dataclass(frozen=True)
class Correction:
    """One labelled digit of the memory: its row, its label (0-9, 10 "not a digit") and when
    the label was given."""

    digit_id: int
    prediction_id: int
    position: int
    label: int
    labelled_at: datetime
    reviewed: bool


def _cleared_at(user: AbstractBaseUser) -> datetime | None:
    return PersonalReading.objects.filter(user=user).values_list("cleared_at", flat=True).first()


def _labelled(user: AbstractBaseUser, cleared_at: datetime | None):
    """The user's own digits with a label given since ``cleared_at``."""
    reviewed = Q(true_label__isnull=False)
    claimed = Q(user_label__isnull=False)
    if cleared_at is not None:
        reviewed &= Q(reviewed_at__gte=cleared_at)
        claimed &= Q(user_label_at__gte=cleared_at)
    return Digit.objects.filter(prediction__owner=user).filter(reviewed | claimed)


def personal_corrections(*, user: AbstractBaseUser) -> list[Correction]:
    """The corrections in ``user``'s memory, oldest first, at most ``MEMORY_LIMIT``."""
    return [correction for correction, _ in _corrections(user)]


def _corrections(user: AbstractBaseUser, *, inputs: bool = False) -> list[tuple[Correction, Any]]:
    """The corrections, each with its digit's 28x28 input when ``inputs`` (None otherwise), in
    one query."""
    cleared_at = _cleared_at(user)
    fields = ["id", "prediction_id", "position", "true_label", "reviewed_at", "user_label"]
    rows = _labelled(user, cleared_at).values_list(
        *fields, "user_label_at", "model_input" if inputs else "id"
    )
    found = []
    for row in rows:
        pk, prediction_id, position, true_label, reviewed_at, user_label, user_label_at, blob = row
        # A reviewed label wins over the owner's claim, unless it was cleared.
        if true_label is not None and (cleared_at is None or reviewed_at >= cleared_at):
            label, at, reviewed = true_label, reviewed_at, True
        else:
            label, at, reviewed = user_label, user_label_at, False
        if label is None or at is None:
            continue
        correction = Correction(pk, prediction_id, position, label, at, reviewed)
        found.append((correction, blob if inputs else None))
    found.sort(key=lambda pair: (pair[0].labelled_at, pair[0].digit_id))
    return found[-MEMORY_LIMIT:]


def _fingerprint(user: AbstractBaseUser) -> tuple[int, str]:
    """How many corrections ``user`` has in use, and a digest that changes with any of them."""
    cleared_at = _cleared_at(user)
    summary = _labelled(user, cleared_at).aggregate(
        n=Count("id"),
        ids=Sum("id"),
        claims=Sum("user_label"),
        truths=Sum("true_label"),
        claimed_at=Max("user_label_at"),
        reviewed_at=Max("reviewed_at"),
    )
    text = f"{FEATURES_VERSION}|{cleared_at}|{sorted(summary.items())}"
    return summary["n"], hashlib.sha256(text.encode()).hexdigest()[:24]


def personal_memory(*, user: AbstractBaseUser | None) -> Memory:
    """``user``'s memory (empty for an anonymous or new user), from the cache when its rows have
    not changed since it was built."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Memory.empty()
    count, fingerprint = _fingerprint(user)
    if count == 0:
        return Memory.empty()
    key = f"personal-memory:{user.pk}:{fingerprint}"
    with _recent_lock:
        memory = _recent.get(key)
        if memory is not None:
            _recent.move_to_end(key)
            return memory
    cached = cache.get(key)
    if cached is not None:
        memory = Memory(*cached)
    else:
        memory = _build(user)
        cache.set(key, (memory.features, memory.labels), CACHE_SECONDS)
    with _recent_lock:
        _recent[key] = memory
        while len(_recent) > RECENT_MEMORIES:
            _recent.popitem(last=False)
    return memory


def _build(user: AbstractBaseUser) -> Memory:
    corrections = _corrections(user, inputs=True)
    if not corrections:
        return Memory.empty()
    images = np.stack(
        [np.frombuffer(bytes(blob), dtype=np.uint8) for _, blob in corrections]
    ).reshape(-1, 28, 28)
    return Memory.build(images, [c.label for c, _ in corrections])


def personal_count(*, user: AbstractBaseUser) -> int:
    """How many corrections ``user``'s memory holds."""
    return min(MEMORY_LIMIT, _labelled(user, _cleared_at(user)).count())


def personal_clear(*, user: AbstractBaseUser) -> None:
    """Stop using every correction ``user`` made so far (the labels stay on their digits)."""
    PersonalReading.objects.update_or_create(user=user, defaults={"cleared_at": timezone.now()})


def personal_export(*, user: AbstractBaseUser) -> dict:
    """``user``'s memory as plain data for "Download my data": which digits of which uploads it
    holds, with the label each one teaches (10: not a digit)."""
    return {
        "limit": MEMORY_LIMIT,
        "cleared_at": _cleared_at(user),
        "corrections": [
            {
                "prediction": c.prediction_id,
                "position": c.position,
                "label": c.label,
                "labelled_at": c.labelled_at,
                "reviewed": c.reviewed,
            }
            for c in personal_corrections(user=user)
        ],
    }
