"""Download my data: a zip of the user's stored images and their predictions as JSON, streamed."""

import json
import logging
import zipfile
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from recognizer.budget import Rate, budget_spend
from recognizer.models import Prediction
from recognizer.personal import personal_export
from recognizer.serializers import PredictionSerializer
from recognizer.zipstream import zip_stream

logger = logging.getLogger(__name__)


def account_export_budget_spend(*, user: AbstractBaseUser) -> None:
    """One export of ACCOUNT_EXPORT_RATE, or OverBudget: each reads every image of the account."""
    budget_spend(
        key=f"account-export:{user.pk}",
        rate=Rate.parse(settings.ACCOUNT_EXPORT_RATE),
        what="downloads of your data",
    )


def account_export(*, user: AbstractBaseUser, request: HttpRequest) -> Iterator[bytes]:
    """The zip, in pieces: `images/<id>.png` for each prediction, then `predictions.json` (the
    API's shape of each prediction, plus `image_file`, its path in the zip, or null, and
    `personal_memory`, the corrections the user's reads use)."""
    return zip_stream(lambda archive: _fill(archive, user=user, request=request))


def _fill(archive: zipfile.ZipFile, *, user: AbstractBaseUser, request: HttpRequest):
    rows = []
    predictions = Prediction.objects.owned_by(user).select_related("model_version", "owner")
    for prediction in predictions.order_by("created_at", "id").iterator():
        row = dict(PredictionSerializer(prediction, context={"request": request}).data)
        row["image_file"] = _write_image(archive, prediction)
        rows.append(row)
        yield
    account = {"username": user.get_username(), "email": user.email}
    archive.writestr(
        "predictions.json",
        json.dumps(
            {
                "account": account,
                "predictions": rows,
                "personal_memory": personal_export(user=user),
            },
            indent=2,
            default=str,
        ),
    )
    yield


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
