"""Prediction keeps only what belongs to the upload: its reading and labels live on Digit
(copied there by 0013), and its label history with them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0013_digit_labels_from_uploads")]

    operations = [
        migrations.RemoveField(
            model_name="prediction",
            name="confidence",
        ),
        migrations.RemoveField(
            model_name="prediction",
            name="digit",
        ),
        migrations.RemoveField(
            model_name="prediction",
            name="excluded_from_training",
        ),
        migrations.RemoveField(
            model_name="prediction",
            name="low_confidence",
        ),
        migrations.RemoveField(
            model_name="prediction",
            name="model_input",
        ),
        migrations.RemoveField(
            model_name="prediction",
            name="probabilities",
        ),
        migrations.RemoveField(
            model_name="prediction",
            name="reviewed_at",
        ),
        migrations.RemoveField(
            model_name="prediction",
            name="reviewed_by",
        ),
        migrations.RemoveField(
            model_name="prediction",
            name="true_label",
        ),
        migrations.RemoveField(
            model_name="prediction",
            name="user_label",
        ),
        migrations.RemoveField(
            model_name="prediction",
            name="user_label_at",
        ),
        migrations.DeleteModel(
            name="HistoricalPrediction",
        ),
    ]
