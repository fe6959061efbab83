"""Per-model-version numbers for the staff stats page, with the geometry of its SVG charts."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from .model_versions import is_starter
from .models import Digit, Label, ModelVersion, Prediction

CHART_WIDTH = 640
CHART_HEIGHT = 180
HEAT_LEVELS = 6
DAYS_SHOWN = 30


@dataclass
class Bar:
    x: float
    width: float
    y: float
    height: float
    low_y: float
    low_height: float
    day: date
    count: int
    low: int


def _heat_rows(matrix: list[list[int]]) -> list[dict]:
    """Rows of (count, heat level) cells; the level is the share of the row's true label."""
    rows = []
    for true_label, row in enumerate(matrix):
        total = sum(row)
        cells = []
        for predicted, count in enumerate(row):
            share = count / total if total else 0.0
            level = 0 if count == 0 else max(1, round(share * (HEAT_LEVELS - 1)))
            cells.append({"count": count, "level": level, "diagonal": predicted == true_label})
        rows.append({"label": true_label, "cells": cells, "total": total})
    return rows


def _day_bars(per_day: list[dict]) -> tuple[list[Bar], int]:
    today = timezone.localdate()
    first = today - timedelta(days=DAYS_SHOWN - 1)
    counts = {row["day"]: row for row in per_day if row["day"] and row["day"] >= first}
    peak = max([row["n"] for row in counts.values()] + [1])
    slot = CHART_WIDTH / DAYS_SHOWN
    bars = []
    for i in range(DAYS_SHOWN):
        day = first + timedelta(days=i)
        row = counts.get(day, {"n": 0, "low": 0})
        height = CHART_HEIGHT * row["n"] / peak
        low_height = CHART_HEIGHT * row["low"] / peak
        bars.append(
            Bar(
                x=round(i * slot + 1, 1),
                width=round(slot - 2, 1),
                y=round(CHART_HEIGHT - height, 1),
                height=round(height, 1),
                low_y=round(CHART_HEIGHT - low_height, 1),
                low_height=round(low_height, 1),
                day=day,
                count=row["n"],
                low=row["low"],
            )
        )
    return bars, peak


RELIABILITY_SIZE = 240


def _reliability(calibration: dict | None) -> dict | None:
    """The reliability diagram's geometry: per confidence bin, a bar as tall as the share of
    right answers, against the diagonal a perfectly calibrated model would follow."""
    if not calibration or not calibration.get("bins"):
        return None
    size = RELIABILITY_SIZE
    bars = []
    for row in calibration["bins"]:
        if not row.get("count"):
            continue
        x = size * row["lower"]
        width = size * (row["upper"] - row["lower"])
        accuracy = row["accuracy"] or 0.0
        bars.append(
            {
                "x": round(x + 1, 1),
                "width": round(width - 2, 1),
                "y": round(size * (1 - accuracy), 1),
                "height": round(size * accuracy, 1),
                "x2": round(x + width - 1, 1),
                "gap_y": round(size * (1 - row["confidence"]), 1),
                "lower": row["lower"],
                "upper": row["upper"],
                "count": row["count"],
                "accuracy": accuracy,
                "confidence": row["confidence"],
            }
        )
    return {"ece": calibration.get("ece"), "bars": bars, "size": size}


def versions_side_by_side() -> list[dict]:
    """Every version, of whatever kind, with the numbers they are compared on."""
    return [
        {
            "version": v,
            "kind": v.get_kind_display() + (" (starter model)" if is_starter(v) else ""),
            "accuracy": v.metrics.get("accuracy"),
            "ece": (v.metrics.get("calibration") or {}).get("ece"),
            "heldout": (v.heldout_metrics or {}).get("accuracy"),
            "train_seconds": (v.params or {}).get("train_seconds"),
        }
        for v in ModelVersion.objects.order_by("-created_at")[:20]
    ]


def model_version_stats(version: ModelVersion) -> dict:
    """Uploads read by `version` and their low-confidence share; accuracy and the confusion
    count each reviewed digit, of numbers too."""
    predictions = Prediction.objects.filter(
        model_version=version, status=Prediction.Status.DONE
    ).annotate(low=Exists(Digit.objects.filter(prediction=OuterRef("pk"), low_confidence=True)))
    total = predictions.count()
    low = predictions.filter(low=True).count()
    confusion = [[0] * 10 for _ in range(10)]
    reviewed = Digit.objects.reviewed().filter(
        prediction__model_version=version, prediction__status=Prediction.Status.DONE
    )
    for row in reviewed.order_by().values("true_label", "digit").annotate(n=Count("id")):
        confusion[row["true_label"]][row["digit"]] = row["n"]
    n_reviewed = sum(map(sum, confusion))
    # Marks staff said are no digit: not in the accuracy (the model reads digits), but counted.
    not_a_digit = Digit.objects.filter(
        prediction__model_version=version,
        prediction__status=Prediction.Status.DONE,
        true_label=Label.NOT_A_DIGIT,
    ).count()
    correct = sum(confusion[d][d] for d in range(10))
    per_day = list(
        predictions.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"), low=Count("id", filter=Q(low=True)))
        .order_by("day")
    )
    bars, peak = _day_bars(per_day)
    personal = _personal_stats(version)
    accuracy = correct / n_reviewed if n_reviewed else None
    low_rate = low / total if total else None
    mnist_confusion = version.metrics.get("confusion")
    return {
        "total": total,
        "reviewed": n_reviewed,
        "not_a_digit": not_a_digit,
        "accuracy": accuracy,
        "accuracy_width": round(CHART_WIDTH * (accuracy or 0), 1),
        "low": low,
        "low_rate": low_rate,
        "low_rate_width": round(CHART_WIDTH * (low_rate or 0), 1),
        "confusion": _heat_rows(confusion),
        "mnist_confusion": _heat_rows(mnist_confusion) if mnist_confusion else None,
        "bars": bars,
        "peak": peak,
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
        "days_shown": DAYS_SHOWN,
        "reliability": _reliability(version.metrics.get("calibration")),
        "versions": versions_side_by_side(),
        "starter": is_starter(version),
        "personal": personal,
    }


def _personal_stats(version: ModelVersion) -> dict:
    """How often the owners' own corrections (recognizer.personal) changed what `version` read,
    and, among the changed digits staff reviewed, how often the change was right."""
    done = Q(prediction__model_version=version, prediction__status=Prediction.Status.DONE)
    changed = Digit.objects.filter(done, model_digit__isnull=False).exclude(model_digit=F("digit"))
    reviewed = changed.filter(true_label__isnull=False)
    return {
        "uploads": Prediction.objects.filter(
            model_version=version, status=Prediction.Status.DONE, personal_corrections__gt=0
        ).count(),
        "changed": changed.count(),
        "reviewed": reviewed.count(),
        "right": reviewed.filter(true_label=F("digit")).count(),
        "model_right": reviewed.filter(true_label=F("model_digit")).count(),
    }
