from rest_framework.authtoken.models import TokenProxy, TokenProxyQuerySet


class ApiToken(TokenProxy):
    """DRF's token as the admin shows it: named after its user, never after its key.

    DRF's Token prints its key as its name, and the admin writes an object's name into page
    titles, breadcrumbs, delete confirmations and the change log.
    """

    objects = TokenProxyQuerySet.as_manager()

    class Meta:
        proxy = True
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        return f"API token of {self.user}"
