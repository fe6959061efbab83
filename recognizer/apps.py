from django.apps import AppConfig


class RecognizerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recognizer"

    def ready(self) -> None:
        from django.conf import settings
        from PIL import Image

        from . import (
            lookups,  # noqa: F401 - integer lookups that cannot overflow
            signals,  # noqa: F401 - connects the receivers
        )

        # Every Pillow decode in the process (not only uploads) refuses images past the upload
        # limit; ml.decode.load_image turns the bomb warning into a refusal.
        Image.MAX_IMAGE_PIXELS = settings.UPLOAD_MAX_PIXELS
