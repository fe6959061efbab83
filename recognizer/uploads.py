"""Accepting uploads: the one door the web form, the batch form, the pad and the API go through.

It spends the owner's upload budget, stores and reads the files (all or nothing), and turns
every refusal into one UploadRefused that each caller shows in its own way.
"""

from typing import BinaryIO

from django.contrib.auth.models import AbstractBaseUser

from .budget import OverBudget, upload_budget_spend
from .images import UploadRejected
from .models import Prediction
from .predictions import BatchUploadRejected, prediction_create, predictions_create_batch


class UploadRefused(Exception):
    """Nothing was stored: the upload is unusable (`code`, a sentence in `message`), or the
    owner spent their budget (`retry_after` seconds until it fits). In a batch, `index` and
    `filename` name the file refused."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retry_after: float | None = None,
        index: int | None = None,
        filename: str = "",
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.index = index
        self.filename = filename

    @property
    def status(self) -> int:
        return 429 if self.retry_after is not None else 400


def upload_accept(
    *,
    user: AbstractBaseUser,
    files: list[tuple[BinaryIO, str]],
    batch: bool = False,
    source: str = Prediction.Source.UPLOAD,
    mode: str = Prediction.Mode.AUTO,
) -> list[Prediction]:
    """Store and read (file, original filename) pairs for `user`, one upload each, in order.

    One file is one upload; a `batch` is all or nothing. Raises UploadRefused and stores nothing
    when the budget is spent or any file is refused.
    """
    try:
        upload_budget_spend(user=user, count=len(files))
        if not batch:
            ((image_file, filename),) = files
            return [
                prediction_create(
                    user=user,
                    image_file=image_file,
                    original_filename=filename,
                    source=source,
                    mode=mode,
                )
            ]
        return predictions_create_batch(user=user, files=files, source=source, mode=mode)
    except OverBudget as exc:
        raise UploadRefused("throttled", exc.message, retry_after=exc.wait) from exc
    except BatchUploadRejected as exc:
        raise UploadRefused(exc.code, exc.message, index=exc.index, filename=exc.filename) from exc
    except UploadRejected as exc:
        raise UploadRefused(exc.code, exc.message) from exc
