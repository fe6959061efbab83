import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recognizer import images, registry


class Command(BaseCommand):
    help = "Classify image files with the active model, exactly as a web upload would be."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="One JSON object per line."
        )

    def handle(self, *args, files: list[Path], as_json: bool = False, **options):
        try:
            version, model = registry.get_active_model()
        except registry.ModelUnavailable as exc:
            raise CommandError(str(exc)) from exc

        refused = 0
        for path in files:
            result = self._classify(path, model)
            if "error" in result:
                refused += 1
            if as_json:
                self.stdout.write(json.dumps(result))
            elif "error" in result:
                self.stdout.write(f"{path}: refused: {result['error']}")
            else:
                self.stdout.write(
                    f"{path}: {result['digit']} ({result['confidence']:.1%} confident, "
                    f"model {version.version})"
                )
        if refused:
            raise SystemExit(1)

    def _classify(self, path: Path, model) -> dict:
        try:
            with path.open("rb") as fh:
                _, model_input = images.decode_upload(fh)
        except images.UploadRejected as exc:
            return {"file": str(path), "error": exc.message}
        except OSError as exc:
            return {"file": str(path), "error": f"The file cannot be read ({exc.strerror})."}
        probabilities = [float(p) for p in model.predict_proba(model_input)]
        digit = max(range(10), key=probabilities.__getitem__)
        return {
            "file": str(path),
            "digit": digit,
            "confidence": probabilities[digit],
            "probabilities": probabilities,
        }
