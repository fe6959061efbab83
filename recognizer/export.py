"""The dataset export: reviewed, non-excluded uploads and each reviewed digit of them, as a zip
of images and tables."""

import csv
import hashlib
import io
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.db.models import Exists, Max, OuterRef, Prefetch, QuerySet
from PIL import Image

from . import images
from .models import Digit, Prediction
from .zipstream import zip_stream

logger = logging.getLogger(__name__)


@dataclass
class ExportSummary:
    images: int
    duplicates: int
    digits: int = 0


def _reviewer(row: Digit) -> str:
    return row.reviewed_by.get_username() if row.reviewed_by else ""


def _when(row: Digit) -> str:
    return row.reviewed_at.isoformat() if row.reviewed_at else ""


def dataset_export(*, out: BinaryIO | Path, predictions: QuerySet | None = None) -> ExportSummary:
    """Write a zip of the reviewed, non-excluded uploads:

    - `images/<sha256>.png`, the whole stored image, and `labels.csv` (sha256, label for a
      one-digit upload, text: the reviewed digits left to right with "?" for any not reviewed,
      reviewer, reviewed_at, file);
    - `digits/<sha256>-<position>.png`, each reviewed digit cut from it at its box, and
      `digits.csv` (sha256, position, label, x0, y0, x1, y1, reviewer, reviewed_at, file).

    An image uploaded twice is written once, with the labels of its latest review.
    """
    summary = ExportSummary(images=0, duplicates=0)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for _ in _fill(archive, predictions, summary):
            pass
    return summary


def dataset_export_stream(*, predictions: QuerySet | None = None) -> Iterator[bytes]:
    """The same zip, in pieces as it is written, for a streamed download."""
    summary = ExportSummary(images=0, duplicates=0)
    return zip_stream(lambda archive: _fill(archive, predictions, summary))


def _fill(archive: zipfile.ZipFile, predictions: QuerySet | None, summary: ExportSummary):
    """Write the entries, yielding after each image; count them in `summary`."""
    if predictions is None:
        predictions = Prediction.objects.all()
    reviewed_digits = Digit.objects.training_usable().select_related("reviewed_by")
    rows = (
        predictions.filter(Exists(reviewed_digits.filter(prediction=OuterRef("pk"))))
        .annotate(last_review=Max("digits__reviewed_at"))
        .prefetch_related(
            "digits", Prefetch("digits", queryset=reviewed_digits, to_attr="reviewed_digits")
        )
        .order_by("-last_review", "-id")
    )
    seen: set[str] = set()
    labels, digits_table = io.StringIO(), io.StringIO()
    labels_csv, digits_csv = csv.writer(labels), csv.writer(digits_table)
    labels_csv.writerow(["sha256", "label", "text", "reviewer", "reviewed_at", "file"])
    digits_csv.writerow(
        ["sha256", "position", "label", "x0", "y0", "x1", "y1", "reviewer", "reviewed_at", "file"]
    )
    for prediction in rows.iterator(chunk_size=200):
        try:
            with prediction.image.open("rb") as fh:
                data = fh.read()
        except (FileNotFoundError, ValueError):
            logger.warning("export_missing_image prediction=%s", prediction.pk)
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            summary.duplicates += 1
            continue
        seen.add(digest)
        summary.images += 1
        name = f"images/{digest}.png"
        archive.writestr(name, data)
        reviewed = {d.position: d for d in prediction.reviewed_digits}
        text = "".join(
            str(reviewed[d.position].true_label) if d.position in reviewed else "?"
            for d in prediction.digits.all()
        )
        one = reviewed.get(0) if len(prediction.digits.all()) == 1 else None
        first = reviewed[min(reviewed)]
        labels_csv.writerow(
            [
                digest,
                "" if one is None else one.true_label,
                text,
                _reviewer(first),
                _when(first),
                name,
            ]
        )
        summary.digits += _write_digits(archive, digits_csv, digest, data, reviewed)
        yield
    archive.writestr("labels.csv", labels.getvalue())
    archive.writestr("digits.csv", digits_table.getvalue())
    yield


def _write_digits(archive, table, digest: str, data: bytes, reviewed: dict) -> int:
    with Image.open(io.BytesIO(data)) as stored:
        stored.load()
        for position, digit in sorted(reviewed.items()):
            name = f"digits/{digest}-{position}.png"
            archive.writestr(name, images.png_bytes(stored.crop(digit.box)))
            table.writerow(
                [
                    digest,
                    position,
                    digit.true_label,
                    *digit.box,
                    _reviewer(digit),
                    _when(digit),
                    name,
                ]
            )
    return len(reviewed)
