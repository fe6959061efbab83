# DigitReading becomes Digit: the name of the ml dataclass of a reading is not the table's.

from django.conf import settings
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("recognizer", "0010_model_version_kind_from_params"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel("DigitReading", "Digit"),
        migrations.RenameModel("HistoricalDigitReading", "HistoricalDigit"),
    ]
