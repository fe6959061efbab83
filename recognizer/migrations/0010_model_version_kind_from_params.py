"""Versions trained before ModelVersion.kind get the kind their params recorded.

Not in 0007: its index on the new column is created at the end of its transaction, and
PostgreSQL refuses to create an index on a table whose rows that transaction has just changed.
"""

from django.db import migrations


def kind_from_params(apps, schema_editor):
    # Versions trained before the field recorded their kind in params (or were forests).
    ModelVersion = apps.get_model("recognizer", "ModelVersion")
    for version in ModelVersion.objects.all():
        kind = (version.params or {}).get("kind") or "rf"
        ModelVersion.objects.filter(pk=version.pk).update(kind=kind)


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0009_digit_readings_from_uploads")]

    operations = [migrations.RunPython(kind_from_params, migrations.RunPython.noop)]
