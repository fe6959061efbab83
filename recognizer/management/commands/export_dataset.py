from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recognizer import export


class Command(BaseCommand):
    help = (
        "Export the reviewed, non-excluded uploads as a zip: images/<sha256>.png plus labels.csv "
        "(sha256, label, reviewer, reviewed_at). Duplicate images are written once."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path, help="The zip file to write, e.g. dataset.zip.")

    def handle(self, *args, **options):
        out: Path = options["out"]
        if out.suffix.lower() != ".zip":
            raise CommandError("The output file must end in .zip.")
        if not out.parent.exists():
            raise CommandError(f"The folder {out.parent} does not exist.")
        tmp = out.with_suffix(".zip.part")
        try:
            with tmp.open("wb") as fh:
                summary = export.dataset_export(out=fh)
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {summary.images} images and {summary.digits} digits to {out} "
                f"({summary.duplicates} duplicate(s) left out)."
            )
        )
