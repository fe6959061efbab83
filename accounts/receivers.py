"""Signal receivers: what changes to accounts when something else changes a user."""

from django.conf import settings
from django.db.models.signals import pre_save
from django.dispatch import receiver

from . import services


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts_revoke_tokens")
def revoke_tokens_on_password_change(
    sender, instance, raw=False, update_fields=None, **kwargs
) -> None:
    """A new password revokes the user's API tokens, whichever path set it.

    The view, the reset link, the admin and `changepassword` all end in a save of the user, so
    the stored hash is compared here rather than in each of them. Like Django's session check
    (which also compares the hash), a hash upgraded at login counts as a change.
    """
    if (
        raw
        or instance.pk is None
        or (update_fields is not None and "password" not in update_fields)
    ):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True)
    if stored.first() not in (None, instance.password):
        services.api_token_revoke(user=instance)
