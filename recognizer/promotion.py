"""The promotion gate: whether a candidate may replace the active model, and the promotion itself.

A candidate replaces the active model on its own only with evidence (held-out reviewed digits it
reads better) and no loss on MNIST beyond noise; it is activated only if the model it was compared
with is still the active one.
"""

import math

from django.conf import settings
from django.db import transaction

from . import model_versions
from .models import ModelVersion

# A candidate's MNIST test accuracy may fall this many binomial standard errors below the active
# model's and still count as not worse (two: about 95% of chance differences).
NOISE_STANDARD_ERRORS = 2.0


def mnist_noise(accuracy: float, n: int) -> float:
    """How far two models' MNIST test accuracies may differ by chance: two binomial standard
    errors of ``accuracy`` on ``n`` test digits (0.17 points at 99.3% on the 10,000)."""
    if n <= 0:
        return 1.0
    return NOISE_STANDARD_ERRORS * math.sqrt(accuracy * (1 - accuracy) / n)


def promotion_gate(
    *,
    candidate_mnist: float,
    active_mnist: float | None,
    mnist_n: int,
    candidate_heldout: float | None,
    active_heldout: float | None,
    heldout_n: int,
) -> tuple[bool, str]:
    """Whether a candidate may replace the active model on its own, and why (a sentence for
    staff). It needs evidence: at least PROMOTION_MIN_HELDOUT held-out reviewed digits, a
    better score than the active model on them, and MNIST test accuracy not worse beyond noise.
    """
    if active_mnist is None:
        return True, "No usable active model to compare with."
    noise = mnist_noise(active_mnist, mnist_n)
    if candidate_mnist < active_mnist - noise - 1e-12:
        return False, (
            f"MNIST test accuracy {candidate_mnist:.2%} is below the active model's "
            f"{active_mnist:.2%} by more than the noise ({noise:.2%}: two standard errors on "
            f"{mnist_n} test digits)."
        )
    needed = settings.PROMOTION_MIN_HELDOUT
    if candidate_heldout is None or active_heldout is None or heldout_n < needed:
        return False, (
            f"Not enough evidence: scored on {heldout_n} held-out reviewed digits, and at least "
            f"{needed} are needed to promote on its own (PROMOTION_MIN_HELDOUT). Staff can "
            "promote it by hand."
        )
    if candidate_heldout <= active_heldout:
        return False, (
            f"On the {heldout_n} held-out reviewed digits it scores {candidate_heldout:.2%}, "
            f"not better than the active model's {active_heldout:.2%}."
        )
    return True, (
        f"Passed the gate: {candidate_heldout:.2%} vs {active_heldout:.2%} on {heldout_n} "
        f"held-out reviewed digits; MNIST test {candidate_mnist:.2%} vs {active_mnist:.2%} "
        f"(noise {noise:.2%})."
    )


def promote_unless_changed(
    candidate: ModelVersion, *, compared_with: ModelVersion | None, note: str
) -> tuple[bool, str]:
    """Activate the candidate only if the version it was compared with is still the active one:
    a rollback made by staff while it trained is a decision the candidate must not undo."""
    with transaction.atomic():
        current = (
            ModelVersion.objects.select_for_update()
            .filter(status=ModelVersion.Status.ACTIVE)
            .first()
        )
        if (current.pk if current else None) != (compared_with.pk if compared_with else None):
            now_active = current.version if current else "none"
            reason = (
                f"Not promoted: the active model changed to {now_active} while this candidate "
                "trained; promote it by hand if it should serve."
            )
            candidate.status_note = reason
            candidate.save(update_fields=["status_note"])
            return False, reason
        model_versions.model_version_activate(model_version=candidate, note=note)
    return True, note
