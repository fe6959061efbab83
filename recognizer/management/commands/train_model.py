import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ml.data import load_mnist
from ml.predict import KINDS
from ml.train import DEFAULT_KIND
from recognizer import model_versions
from recognizer.models import ModelVersion


class Command(BaseCommand):
    help = "Train a model on MNIST, evaluate it on the MNIST test set, register it and activate it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--kind",
            choices=KINDS,
            default=DEFAULT_KIND,
            help=f"The model kind (default {DEFAULT_KIND}; docs/benchmarks.md compares them).",
        )
        parser.add_argument(
            "--n-estimators",
            type=int,
            default=None,
            help="Trees of the forest kinds and the ensemble's forest (default: the kind's).",
        )
        parser.add_argument(
            "--max-leaf-nodes", type=int, default=None, help="Cap tree size (smaller artifact)."
        )
        parser.add_argument(
            "--limit", type=int, default=None, help="Train on the first N MNIST images only."
        )
        parser.add_argument(
            "--if-none-active",
            action="store_true",
            help="Do nothing if a model version is already active (used by `make run`).",
        )
        parser.add_argument(
            "--no-activate", action="store_true", help="Register the model without activating it."
        )

    def handle(self, *args, **options):
        if options["if_none_active"] and ModelVersion.objects.active() is not None:
            active = ModelVersion.objects.active()
            self.stdout.write(f"Model {active.version} is active; not training.")
            return

        kind = options["kind"]
        n_estimators = options["n_estimators"]
        if n_estimators is not None and n_estimators < 1:
            raise CommandError("--n-estimators must be at least 1.")
        images, labels = load_mnist("train", data_dir=settings.MNIST_DIR, limit=options["limit"])
        test_images, test_labels = load_mnist("test", data_dir=settings.MNIST_DIR)
        self.stdout.write(f"Training the {kind} kind on {len(labels)} MNIST images.")

        # Percent of the expected time: the digit model, then its wholeness part.
        with tqdm(unit="%", desc="Training", file=sys.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            trained = model_versions.model_version_train(
                images=images,
                labels=labels,
                test_images=test_images,
                test_labels=test_labels,
                train_options={
                    "kind": kind,
                    "n_estimators": n_estimators,
                    "max_leaf_nodes": options["max_leaf_nodes"],
                },
                data_source=f"MNIST IDX files ({len(labels)} train, {len(test_labels)} test)",
                progress=progress,
                activate=not options["no_activate"],
            )

        version = trained.model_version
        metrics = trained.metrics
        state = "active" if version.is_active else "registered, not active"
        ece = (metrics.get("calibration") or {}).get("ece")
        calibration = f", calibration error {ece:.2%}" if ece is not None else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Model {version.version} ({version.kind}, {state}): accuracy "
                f"{metrics['accuracy']:.2%} on {metrics['n']} MNIST test images{calibration}, "
                f"trained in {trained.train_seconds:.0f} s."
            )
        )
