from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # settings.CACHES: the API's rate limits live in a database table, shared by every worker and
    # server. createcachetable skips caches that are not database caches, and tables that exist.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("recognizer", "0002_history_and_training_runs")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
