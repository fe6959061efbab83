"""Receivers that keep the stored files in step with the rows, whatever deleted them."""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Prediction


@receiver(post_delete, sender=Prediction, dispatch_uid="prediction_files_follow_row")
def _delete_files_with_row(sender, instance: Prediction, **kwargs) -> None:
    # Every path that deletes rows comes through here: the service, the admin's single and bulk
    # deletes, and a user's deletion cascading to their uploads. The files go only once the
    # deletion is committed: a rolled-back delete keeps its images.
    files = [(f.storage, f.name) for f in (instance.image, instance.thumbnail) if f.name]
    if files:
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in files])
