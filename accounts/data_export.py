"""Download my data: a zip of the user's stored images and their predictions as JSON."""

import json
import logging
import zipfile
from typing import BinaryIO

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from recognizer.models import Prediction
from recognizer.serializers import PredictionSerializer

logger = logging.getLogger(__name__)


def account_export(*, user: AbstractBaseUser, request: HttpRequest, out: BinaryIO) -> int:
    """Write `predictions.json` (the API's shape of each prediction, plus `image_file`, its path
    in the zip) and `images/<id>.png` to `out`. Returns the number of predictions."""
    rows = []
    predictions = Prediction.objects.owned_by(user).select_related("model_version", "owner")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for prediction in predictions.order_by("created_at", "id").iterator():
            row = dict(PredictionSerializer(prediction, context={"request": request}).data)
            row["image_file"] = _write_image(archive, prediction)
            rows.append(row)
        account = {"username": user.get_username(), "email": user.email}
        archive.writestr(
            "predictions.json",
            json.dumps({"account": account, "predictions": rows}, indent=2, default=str),
        )
    return len(rows)


def _write_image(archive: zipfile.ZipFile, prediction: Prediction) -> str | None:
    if not prediction.image.name:
        return None
    name = f"images/{prediction.pk}.png"
    try:
        with prediction.image.open("rb") as fh:
            # Stored images are PNG already: compressing them again gains nothing.
            archive.writestr(name, fh.read(), compress_type=zipfile.ZIP_STORED)
    except FileNotFoundError:
        logger.warning("export_image_missing prediction=%s", prediction.pk)
        return None
    return name
