import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recognizer import images, registry
from recognizer.inference import model_read
from recognizer.models import Prediction


class Command(BaseCommand):
    help = "Read image files with the active model, exactly as a web upload would be."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="One JSON object per line."
        )
        parser.add_argument(
            "--mode",
            choices=Prediction.Mode.values,
            default=Prediction.Mode.AUTO,
            help="Read each image as one digit, a number, or whatever it holds (auto).",
        )

    def handle(self, *args, files: list[Path], as_json: bool = False, mode: str = "auto", **opts):
        try:
            version, model = registry.get_active_model()
        except registry.ModelUnavailable as exc:
            raise CommandError(str(exc)) from exc

        refused = 0
        for path in files:
            result = self._classify(path, model, mode)
            if "error" in result:
                refused += 1
            if as_json:
                self.stdout.write(json.dumps(result))
            elif "error" in result:
                self.stdout.write(f"{path}: refused: {result['error']}")
            else:
                self.stdout.write(
                    f"{path}: {result['text']} ({result['confidence']:.1%} confident, "
                    f"model {version.version})"
                )
        if refused:
            raise SystemExit(1)

    def _classify(self, path: Path, model, mode: str) -> dict:
        try:
            with path.open("rb") as fh:
                image = images.load_upload(fh)
            reading = model_read(image, model, mode=mode)
        except images.UploadRejected as exc:
            return {"file": str(path), "error": exc.message}
        except OSError as exc:
            return {"file": str(path), "error": f"The file cannot be read ({exc.strerror})."}
        one = reading.digits[0] if len(reading.digits) == 1 else None
        return {
            "file": str(path),
            "text": reading.text,
            "digit": one.digit if one else None,
            "confidence": reading.confidence,
            "probabilities": list(one.probabilities) if one else None,
            "digits": [
                {
                    "position": position,
                    "box": list(d.box),
                    "digit": d.digit,
                    "confidence": d.confidence,
                    "probabilities": list(d.probabilities),
                    "low_confidence": d.low_confidence,
                }
                for position, d in enumerate(reading.digits)
            ],
        }
