from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from recognizer import predictions
from recognizer.models import Prediction

PREFIXES = ("uploads", "thumbnails")


def _walk(storage, prefix: str):
    try:
        dirs, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{prefix}/{name}"
    for sub in dirs:
        yield from _walk(storage, f"{prefix}/{sub}")


class Command(BaseCommand):
    help = (
        "List stored files that no prediction points to, and predictions whose image file is "
        "gone. Lists only, unless --delete (remove orphan files) or --delete-rows (delete "
        "predictions whose image is gone) is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only list (the default); overrides --delete and --delete-rows.",
        )
        parser.add_argument(
            "--delete", action="store_true", help="Remove files that no prediction points to."
        )
        parser.add_argument(
            "--delete-rows",
            action="store_true",
            help="Delete predictions whose image file is gone (their result is lost with them).",
        )
        parser.add_argument(
            "--min-age",
            type=float,
            default=60.0,
            help=(
                "Minutes a file must have existed to count as an orphan (default 60): an upload "
                "in progress writes its files a moment before its row."
            ),
        )

    def handle(self, *args, dry_run=False, delete=False, delete_rows=False, min_age=60.0, **opts):
        if min_age < 0:
            raise CommandError("--min-age must be zero or more minutes.")
        storage = Prediction._meta.get_field("image").storage
        delete_files = delete and not dry_run
        delete_rows = delete_rows and not dry_run

        known = set()
        for image, thumbnail in Prediction.objects.values_list("image", "thumbnail").iterator():
            known.update(name for name in (image, thumbnail) if name)

        cutoff = timezone.now() - timedelta(minutes=min_age)
        orphan_files = []
        for prefix in PREFIXES:
            for name in _walk(storage, prefix):
                if name in known:
                    continue
                try:
                    if storage.get_modified_time(name) > cutoff:
                        continue
                except FileNotFoundError:
                    continue
                orphan_files.append(name)

        missing_rows = []
        for pk, image in Prediction.objects.values_list("pk", "image").order_by("pk").iterator():
            if not image or not storage.exists(image):
                missing_rows.append((pk, image))

        for name in orphan_files:
            if delete_files:
                storage.delete(name)
                self.stdout.write(f"deleted orphan file: {name}")
            else:
                self.stdout.write(f"orphan file: {name}")
        for pk, image in missing_rows:
            if delete_rows:
                predictions.prediction_delete(prediction=Prediction.objects.get(pk=pk))
                self.stdout.write(f"deleted prediction #{pk}: its image {image or '-'} is gone")
            else:
                self.stdout.write(f"prediction #{pk} has no file: {image or '-'}")

        self.stdout.write(
            f"{len(orphan_files)} orphan file(s), {len(missing_rows)} prediction(s) without a "
            f"file." + ("" if delete_files or delete_rows else " Nothing was changed.")
        )
