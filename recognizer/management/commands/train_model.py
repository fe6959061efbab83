import sys
import threading

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ml.predict import KINDS
from ml.train import DEFAULT_KIND
from recognizer import model_versions, tasks, training_runs
from recognizer.models import ModelVersion


class StageBars:
    """One progress bar per training stage, in the stage's own unit (images, trees, lines). A
    stage without steps of its own (the SVM fit) shows its running time, redrawn every second,
    so that a long stage does not look hung."""

    def __init__(self, file=sys.stderr):
        self.file = file
        self.bar: tqdm | None = None
        self.name = ""
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.ticker = threading.Thread(target=self._tick, daemon=True)
        self.ticker.start()

    def __call__(self, name: str, done: int, total: int, unit: str) -> None:
        with self.lock:
            if name != self.name:
                self._close()
                self.name = name
                if unit:
                    self.bar = tqdm(total=total, desc=name, unit=f" {unit}", file=self.file)
                else:
                    self.bar = tqdm(desc=name, bar_format="{desc}: {elapsed}", file=self.file)
            if unit:
                self.bar.update(done - self.bar.n)
            if done >= total:
                self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar, self.name = None, ""

    def _tick(self) -> None:
        while not self.stopped.wait(1.0):
            with self.lock:
                if self.bar is not None:
                    self.bar.refresh()

    def close(self) -> None:
        self.stopped.set()
        self.ticker.join()
        with self.lock:
            self._close()


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
        parser.add_argument(
            "--starter",
            action="store_true",
            help="Train the starter model (a small forest on part of MNIST, seconds), activate "
            "it, and queue the default model's training for the task worker (db_worker), which "
            "replaces the starter when it is done. Used by `make run`.",
        )

    def handle(self, *args, **options):
        active = ModelVersion.objects.active()
        if options["if_none_active"] and active is not None:
            self.stdout.write(f"Model {active.version} is active; not training.")
            if options["starter"] and model_versions.is_starter(active):
                self._queue_default_model()
            return
        if options["starter"]:
            self._train_starter()
            return

        kind = options["kind"]
        n_estimators = options["n_estimators"]
        if n_estimators is not None and n_estimators < 1:
            raise CommandError("--n-estimators must be at least 1.")
        how_many = f"the first {options['limit']}" if options["limit"] else "all the"
        self.stdout.write(f"Training the {kind} kind on {how_many} MNIST images.")

        bars = StageBars()
        try:
            trained = model_versions.model_version_train_on_mnist(
                train_options={
                    "kind": kind,
                    "n_estimators": n_estimators,
                    "max_leaf_nodes": options["max_leaf_nodes"],
                },
                limit=options["limit"],
                stage=bars,
                activate=not options["no_activate"],
            )
        finally:
            bars.close()
        self._report(trained)

    def _train_starter(self) -> None:
        self.stdout.write(
            f"Training a starter model ({model_versions.STARTER_TREES} trees on "
            f"{model_versions.STARTER_TRAIN_IMAGES} MNIST images) so the site can answer at once."
        )
        bars = StageBars()
        try:
            trained = model_versions.model_version_train_starter(stage=bars)
        finally:
            bars.close()
        self._report(trained)
        self._queue_default_model()

    def _queue_default_model(self) -> None:
        try:
            run = tasks.starter_replace_enqueue()
        except training_runs.RetrainRefused as exc:
            self.stdout.write(f"Not queueing the default model's training: {exc}")
            return
        self.stdout.write(
            f"Queued training run #{run.pk}: the task worker (db_worker, started by `make run`) "
            f"trains the default {DEFAULT_KIND} model in the background and makes it active when "
            "it is done, without a restart. Its progress: Admin > Training runs."
        )

    def _report(self, trained: model_versions.TrainedVersion) -> None:
        version = trained.model_version
        metrics = trained.metrics
        state = "active" if version.is_active else "registered, not active"
        starter = ", starter" if model_versions.is_starter(version) else ""
        ece = (metrics.get("calibration") or {}).get("ece")
        calibration = f", calibration error {ece:.2%}" if ece is not None else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Model {version.version} ({version.kind}{starter}, {state}): accuracy "
                f"{metrics['accuracy']:.2%} on {metrics['n']} MNIST test images{calibration}, "
                f"trained in {trained.train_seconds:.0f} s."
            )
        )
