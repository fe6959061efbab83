import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ml.data import load_mnist
from ml.evaluate import evaluate
from recognizer import model_versions, registry


class Command(BaseCommand):
    help = "Evaluate the active model on the MNIST test set and store the metrics with its version."

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one JSON object."
        )
        parser.add_argument("--limit", type=int, default=None, help="Use the first N test images.")

    def handle(self, *args, as_json: bool = False, limit: int | None = None, **options):
        try:
            version, model = registry.get_active_model()
        except registry.ModelUnavailable as exc:
            raise CommandError(str(exc)) from exc
        images, labels = load_mnist("test", data_dir=settings.MNIST_DIR, limit=limit)
        metrics = evaluate(model, images, labels)
        if limit is None:
            model_versions.model_version_record_metrics(model_version=version, metrics=metrics)

        if as_json:
            self.stdout.write(json.dumps({"model_version": version.version, **metrics}))
            return
        self.stdout.write(
            f"Model {version.version}: accuracy {metrics['accuracy']:.2%} on {metrics['n']} images"
        )
        self.stdout.write("digit  precision  recall  support")
        for digit, row in metrics["per_class"].items():
            self.stdout.write(
                f"{digit:>5}  {row['precision']:>9.2%}  {row['recall']:>6.2%}  {row['support']:>7}"
            )
        self.stdout.write("Confusion matrix (rows: true digit, columns: predicted):")
        self.stdout.write("     " + " ".join(f"{d:>5}" for d in range(10)))
        for digit, row in enumerate(metrics["confusion"]):
            self.stdout.write(f"{digit:>3}  " + " ".join(f"{n:>5}" for n in row))
