"""Rate budgets: how many uploads (or API requests) one caller may make in a window.

Sliding windows kept in the database (RateBudget), updated under a row lock: every worker and
every server shares them, and two requests racing for the last unit cannot both win.
"""

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from .models import RateBudget

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_PERIODS |= {"h": 3600, "hour": 3600, "d": 86400, "day": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """`120/min`, `60/minute`, `5/s`, `1000/day`."""
        count, _, period = text.partition("/")
        return cls(int(count), _PERIODS[period])


class OverBudget(Exception):
    """The caller spent the budget; `wait` seconds until the request would fit."""

    def __init__(self, wait: float, message: str):
        super().__init__(message)
        self.wait = wait
        self.message = message


def budget_spend(*, key: str, rate: Rate, cost: int = 1, what: str = "requests") -> None:
    """Spend `cost` units of `key`'s budget, or raise OverBudget and spend nothing.

    A cost above the whole budget is charged the whole budget, so a large batch can still pass.
    """
    cost = max(1, min(cost, rate.count))
    now = time.time()
    with transaction.atomic():
        budget = _locked(key)
        history = [t for t in budget.history if t > now - rate.seconds]
        if len(history) + cost > rate.count:
            excess = len(history) + cost - rate.count
            wait = max(history[-excess] + rate.seconds - now, 1.0)
            raise OverBudget(
                wait,
                f"You have reached the limit of {rate.count} {what} per "
                f"{_period_name(rate.seconds)}. Please try again in {_duration(wait)}.",
            )
        budget.history = [now] * cost + history
        budget.save(update_fields=["history"])


def upload_budget_spend(*, user: AbstractBaseUser, count: int = 1) -> None:
    """The one upload budget per user, shared by the web form, the drawing pad and the API."""
    budget_spend(
        key=f"upload:{user.pk}", rate=Rate.parse(settings.UPLOAD_RATE), cost=count, what="uploads"
    )


def _locked(key: str) -> RateBudget:
    try:
        return RateBudget.objects.select_for_update().get(key=key)
    except RateBudget.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            return RateBudget.objects.create(key=key)
    except IntegrityError:
        # Another request made the row first: take its lock like any later request.
        return RateBudget.objects.select_for_update().get(key=key)


def _period_name(seconds: int) -> str:
    return {1: "second", 60: "minute", 3600: "hour", 86400: "day"}[seconds]


def _duration(seconds: float) -> str:
    seconds = math.ceil(seconds)
    if seconds < 90:
        return f"{seconds} seconds"
    if seconds < 5400:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{math.ceil(seconds / 3600)} hours"
