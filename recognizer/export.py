"""The dataset export: reviewed, non-excluded uploads as a zip of images and a labels table."""

import csv
import hashlib
import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.db.models import QuerySet

from .models import Prediction

logger = logging.getLogger(__name__)


@dataclass
class ExportSummary:
    images: int
    duplicates: int


def dataset_export(*, out: BinaryIO | Path, predictions: QuerySet | None = None) -> ExportSummary:
    """Write a zip of the reviewed, non-excluded images (`images/<sha256>.png`) and `labels.csv`
    (sha256, label, reviewer, reviewed_at). An image uploaded twice is written once, with the
    label of its latest review.
    """
    if predictions is None:
        predictions = Prediction.objects.all()
    rows = (
        predictions.filter(true_label__isnull=False, excluded_from_training=False)
        .select_related("reviewed_by")
        .order_by("-reviewed_at", "-id")
    )
    seen: set[str] = set()
    duplicates = 0
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["sha256", "label", "reviewer", "reviewed_at", "file"])
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for prediction in rows.iterator(chunk_size=200):
            try:
                with prediction.image.open("rb") as fh:
                    data = fh.read()
            except (FileNotFoundError, ValueError):
                logger.warning("export_missing_image prediction=%s", prediction.pk)
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                duplicates += 1
                continue
            seen.add(digest)
            name = f"images/{digest}.png"
            archive.writestr(name, data)
            reviewer = prediction.reviewed_by.get_username() if prediction.reviewed_by else ""
            reviewed_at = prediction.reviewed_at.isoformat() if prediction.reviewed_at else ""
            writer.writerow([digest, prediction.true_label, reviewer, reviewed_at, name])
        archive.writestr("labels.csv", table.getvalue())
    return ExportSummary(images=len(seen), duplicates=duplicates)
