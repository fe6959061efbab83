"""API rate limits, kept in the shared, locked budgets of recognizer.budget (never a per-process
count, and never a cache's read-then-write)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from recognizer.budget import OverBudget, Rate, budget_spend


class _BudgetThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def spend(self, spend) -> bool:
        try:
            spend()
        except OverBudget as exc:
            self._wait = exc.wait
            return False
        return True

    def wait(self) -> float | None:
        return self._wait


class UserThrottle(_BudgetThrottle):
    """Requests per user (per IP address for anonymous callers), at API_THROTTLE_RATE."""

    def allow_request(self, request, view) -> bool:
        # Read per request, not at import as DRF does, so settings overrides apply.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get("user")
        if rate is None:
            return True
        user = request.user
        who = f"user:{user.pk}" if user.is_authenticated else f"ip:{self.get_ident(request)}"
        return self.spend(lambda: budget_spend(key=f"api:{who}", rate=Rate.parse(rate)))
