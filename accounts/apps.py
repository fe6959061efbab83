import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the signal receivers)

        # A log line rather than a system check: `check --deploy` must stay clean on a site that
        # deliberately sends no mail, and every process (server, worker, command) says it once.
        if not settings.PASSWORD_RESET_ENABLED:
            logger.warning(
                "password_reset_disabled: DEBUG is off and EMAIL_HOST is not set, so password "
                "reset by email is turned off. Set EMAIL_HOST (see README) to turn it on."
            )
