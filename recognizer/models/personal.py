"""Each user's control over personal reading (``ml.personal``): when they last cleared it."""

from django.conf import settings
from django.db import models


class PersonalReading(models.Model):
    """A user's personal reading settings: corrections made before ``cleared_at`` are not
    used (the labels stay, for staff review and training)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_reading"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Personal reading of {self.user}"
