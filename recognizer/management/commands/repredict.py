from django.core.management.base import BaseCommand

from recognizer import predictions
from recognizer.models import Prediction


class Command(BaseCommand):
    help = (
        "Predict every stored upload that is pending or failed (for example after a model outage)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="Re-run every prediction, not only unfinished ones."
        )

    def handle(self, *args, all: bool = False, **options):
        queryset = Prediction.objects.all() if all else Prediction.objects.unfinished()
        done = failed = 0
        for prediction in queryset.order_by("created_at").iterator():
            prediction = predictions.prediction_run(prediction=prediction)
            if prediction.status == Prediction.Status.DONE:
                done += 1
            else:
                failed += 1
                self.stderr.write(f"#{prediction.pk}: {prediction.error_message}")
        self.stdout.write(f"Predicted {done} upload(s); {failed} still failed.")
        if failed:
            raise SystemExit(1)
