"""Failed password checks of a logged-in user (password change, email, account deletion), and
password reset mails per address.

django-axes counts failed logins only; a stolen session could otherwise try passwords here without
limit. Failures are counted per user in the shared cache (a database table every worker sees),
with the login lockout's limit and window.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache


def _key(user: AbstractBaseUser) -> str:
    return f"accounts:password-failures:{user.pk}"


def window_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def password_checks_blocked(*, user: AbstractBaseUser) -> bool:
    return cache.get(_key(user), 0) >= settings.AXES_FAILURE_LIMIT


def password_failure_record(*, user: AbstractBaseUser) -> None:
    _count(_key(user))


def reset_mail_allowed(*, email: str) -> bool:
    """Count a reset request for this address; False past the limit, so that nobody can flood
    an inbox with reset mails through the form."""
    return _count(f"accounts:reset-mails:{email.strip().lower()}") <= settings.AXES_FAILURE_LIMIT


def _count(key: str) -> int:
    """Add one; the window starts at the first count and is not extended by more."""
    cache.add(key, 0, timeout=window_seconds())
    try:
        return cache.incr(key)
    except ValueError:
        # The window ended between add() and incr().
        cache.set(key, 1, timeout=window_seconds())
        return 1


def refusal_message() -> str:
    minutes = window_seconds() // 60
    return (
        f"Too many wrong passwords. For your safety, password checks for this account are "
        f"paused for up to {minutes} minutes; try again later."
    )
