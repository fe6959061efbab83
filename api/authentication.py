from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from recognizer.budget import OverBudget, Rate, budget_spend


class ThrottledTokenAuthentication(TokenAuthentication):
    """Token auth whose failures are counted per IP address: DRF authenticates before it
    throttles, so without this a client could try tokens as fast as the server answers."""

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            rate = api_settings.DEFAULT_THROTTLE_RATES.get("bad_token")
            if rate is not None:
                ident = BaseThrottle().get_ident(request)
                try:
                    budget_spend(
                        key=f"bad_token:{ident}", rate=Rate.parse(rate), what="failed logins"
                    )
                except OverBudget as exc:
                    raise Throttled(wait=exc.wait) from None
            raise
