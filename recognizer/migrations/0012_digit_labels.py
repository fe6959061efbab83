"""Each digit holds its exclusion; labels make room for "not a digit"."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recognizer", "0011_rename_digitreading_digit"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="historicaldigit",
            options={
                "get_latest_by": ("history_date", "history_id"),
                "ordering": ("-history_date", "-history_id"),
                "verbose_name": "historical digit",
                "verbose_name_plural": "historical digits",
            },
        ),
        migrations.AddField(
            model_name="digit",
            name="excluded_from_training",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="historicaldigit",
            name="excluded_from_training",
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name="digit",
            name="true_label",
            field=models.PositiveSmallIntegerField(
                blank=True,
                choices=[
                    (0, "0"),
                    (1, "1"),
                    (2, "2"),
                    (3, "3"),
                    (4, "4"),
                    (5, "5"),
                    (6, "6"),
                    (7, "7"),
                    (8, "8"),
                    (9, "9"),
                    (10, "Not a digit"),
                ],
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(10),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="digit",
            name="user_label",
            field=models.PositiveSmallIntegerField(
                blank=True,
                choices=[
                    (0, "0"),
                    (1, "1"),
                    (2, "2"),
                    (3, "3"),
                    (4, "4"),
                    (5, "5"),
                    (6, "6"),
                    (7, "7"),
                    (8, "8"),
                    (9, "9"),
                    (10, "Not a digit"),
                ],
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(10),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="historicaldigit",
            name="true_label",
            field=models.PositiveSmallIntegerField(
                blank=True,
                choices=[
                    (0, "0"),
                    (1, "1"),
                    (2, "2"),
                    (3, "3"),
                    (4, "4"),
                    (5, "5"),
                    (6, "6"),
                    (7, "7"),
                    (8, "8"),
                    (9, "9"),
                    (10, "Not a digit"),
                ],
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(10),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="historicaldigit",
            name="user_label",
            field=models.PositiveSmallIntegerField(
                blank=True,
                choices=[
                    (0, "0"),
                    (1, "1"),
                    (2, "2"),
                    (3, "3"),
                    (4, "4"),
                    (5, "5"),
                    (6, "6"),
                    (7, "7"),
                    (8, "8"),
                    (9, "9"),
                    (10, "Not a digit"),
                ],
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(10),
                ],
            ),
        ),
    ]
