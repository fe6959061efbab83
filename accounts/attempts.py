"""Failed password checks of a logged-in user (password change, email, account deletion), and
password reset requests per client and per address.

django-axes counts failed logins only; a stolen session could otherwise try passwords here without
limit. Failures are counted per user in the shared cache (a database table every worker sees),
with the login lockout's limit and window.
"""

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache

from recognizer.budget import OverBudget, Rate, budget_spend


def _key(user: AbstractBaseUser) -> str:
    return f"accounts:password-failures:{user.pk}"


def window_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def password_checks_blocked(*, user: AbstractBaseUser) -> bool:
    return cache.get(_key(user), 0) >= settings.AXES_FAILURE_LIMIT


def password_failure_record(*, user: AbstractBaseUser) -> None:
    _count(_key(user))


def reset_mail_allowed(*, email: str, client: str) -> bool:
    """Count a reset request from this client address for this email address; False past either
    limit, so that nobody floods an inbox with reset mails, nor walks through many addresses
    (or through the mail server's sending quota) from one place.

    The locked budgets of recognizer.budget, as the upload and API limits: a count in the cache
    would be a read-then-write that concurrent requests get past. The email address is kept as
    a hash only."""
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    try:
        budget_spend(
            key=f"reset:client:{client}", rate=Rate.parse(settings.PASSWORD_RESET_CLIENT_RATE)
        )
        budget_spend(
            key=f"reset:address:{address}", rate=Rate.parse(settings.PASSWORD_RESET_ADDRESS_RATE)
        )
    except OverBudget:
        return False
    return True


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
