from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import Token, TokenProxy

from recognizer.personal import personal_count

from .models import ApiToken

User = get_user_model()

admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(TokenAdmin):
    """Who has a token and since when; staff may delete one, but never see or set a key."""

    list_display = ("user", "created")
    fields = ("user", "created")
    readonly_fields = ("user", "created")

    def has_add_permission(self, request) -> bool:
        # An added token's key would be shown to the staff member, not to its owner.
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


admin.site.unregister(User)


@admin.register(User)
class AccountUserAdmin(UserAdmin):
    list_display = (*UserAdmin.list_display, "corrections_in_use")
    readonly_fields = (*UserAdmin.readonly_fields, "corrections_in_use")
    fieldsets = (*UserAdmin.fieldsets, ("Personal reading", {"fields": ("corrections_in_use",)}))

    @admin.display(description="corrections in use")
    def corrections_in_use(self, user) -> int:
        """How many of the user's own corrections their reads use (recognizer.personal)."""
        return personal_count(user=user)

    def get_deleted_objects(self, objs, request):
        # Deleting a user lists what goes with it; a Token is listed by its name, which is its key.
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        keys = set(Token.objects.filter(user__in=objs).values_list("key", flat=True))
        return _hide_keys(to_delete, keys), model_count, perms_needed, protected


def _hide_keys(items, keys: set[str]):
    if isinstance(items, list):
        return [_hide_keys(item, keys) for item in items]
    text = str(items)
    for key in keys:
        text = text.replace(key, "(hidden)")
    return text if text != str(items) else items
