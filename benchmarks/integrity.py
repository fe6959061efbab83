"""Nothing lost after a load run: the successful uploads locust counted = rows = stored files,
and no orphan file."""

from __future__ import annotations

import os
from pathlib import Path


def integrity(users: int, uploads: int, prefix: str, env: dict[str, str]) -> dict:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitsite.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.files.storage import FileSystemStorage, default_storage

    from recognizer.models import Prediction

    rows = Prediction.objects.filter(owner__username__startswith=f"{prefix}-")
    names = {name for pair in rows.values_list("image", "thumbnail") for name in pair if name}
    result = {
        # Sign-ups happen before locust's statistics start: a failed one shows here.
        "signed_up": get_user_model().objects.filter(username__startswith=f"{prefix}-").count(),
        "successful_uploads": uploads,
        "rows": rows.count(),
        "statuses": dict(
            sorted(
                (status, rows.filter(status=status).count())
                for status in set(rows.values_list("status", flat=True))
            )
        ),
    }
    if isinstance(default_storage, FileSystemStorage):
        media = Path(settings.MEDIA_ROOT)
        on_disk = {
            p.relative_to(media).as_posix()
            for folder in ("uploads", "thumbnails")
            for p in (media / folder).rglob("*")
            if p.is_file()
        }
        every_row = {
            name
            for pair in Prediction.objects.values_list("image", "thumbnail")
            for name in pair
            if name
        }
        result["stored_images"] = sum(1 for n in names if n.startswith("uploads/") and n in on_disk)
        result["files_missing"] = len(names - on_disk)
        result["orphan_files"] = len(on_disk - every_row)
    else:
        result["files_missing"] = sum(1 for n in names if not default_storage.exists(n))
        result["stored_images"] = result["rows"] - result["files_missing"]
        result["orphan_files"] = None
    result["ok"] = (
        result["signed_up"] == users
        and result["successful_uploads"] == result["rows"] == result["stored_images"]
        and result["files_missing"] == 0
        and not result["orphan_files"]
    )
    return result
