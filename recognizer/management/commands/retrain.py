import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recognizer import training_runs


class Command(BaseCommand):
    help = (
        "Train a candidate on MNIST train plus every reviewed, non-excluded upload outside the "
        "held-out slice; promote it if it passes the gate (or with --force)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Promote the candidate even if the gate fails."
        )
        parser.add_argument(
            "--mnist-limit", type=int, default=None, help="Use the first N MNIST train images."
        )
        parser.add_argument(
            "--test-limit", type=int, default=None, help="Compare on the first N MNIST test images."
        )
        parser.add_argument(
            "--copies", type=int, default=None, help="Augmented copies of each correction."
        )
        parser.add_argument("--n-estimators", type=int, default=None)

    def handle(self, *args, **options):
        for name in ("mnist_limit", "test_limit", "copies", "n_estimators"):
            if options[name] is not None and options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must not be negative.")
        try:
            run = training_runs.training_run_create(force=options["force"])
        except training_runs.RetrainRefused as exc:
            raise CommandError(str(exc)) from exc

        with tqdm(total=100, unit="%", desc="Retraining", file=sys.stderr) as bar:

            def progress(percent: int, stage: str) -> None:
                bar.set_postfix_str(stage[:50])
                bar.update(percent - bar.n)

            try:
                run = training_runs.training_run_execute(
                    run=run,
                    on_progress=progress,
                    mnist_limit=options["mnist_limit"],
                    test_limit=options["test_limit"],
                    copies=options["copies"],
                    n_estimators=options["n_estimators"] or None,
                )
            except Exception as exc:
                raise CommandError(f"Retraining failed: {exc}") from exc

        candidate = run.candidate
        style = self.style.SUCCESS if run.promoted else self.style.WARNING
        self.stdout.write(
            style(
                f"{candidate.version}: MNIST test {candidate.metrics['accuracy']:.2%}, "
                f"{candidate.training_data.get('reviewed_digits', 0)} reviewed digits of "
                f"{candidate.training_data['reviewed_uploads']} uploads trained on, "
                f"{candidate.heldout_metrics.get('n', 0)} digits held out. {run.message}"
            )
        )
