from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class UserThrottle(UserRateThrottle):
    """Requests per user (per IP address for anonymous callers), at API_THROTTLE_RATE."""

    scope = "user"

    def get_rate(self) -> str | None:
        # DRF reads rates once at import; reading them per request lets settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class UploadThrottle(UserThrottle):
    """Images uploaded per user, at API_UPLOAD_THROTTLE_RATE: a batch of 20 costs 20."""

    scope = "upload"
    cost = 1

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        files = len(request.FILES.getlist("image")) + len(request.FILES.getlist("images"))
        # A batch larger than the whole budget is charged the whole budget, so it can succeed.
        self.cost = max(1, min(files, self.num_requests))
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) + self.cost > self.num_requests:
            return self.throttle_failure()
        self.history[:0] = [self.now] * self.cost
        self.cache.set(self.key, self.history, self.duration)
        return True

    def wait(self) -> float | None:
        # Seconds until enough of the oldest uploads fall out of the window to fit this one.
        excess = len(self.history) + self.cost - self.num_requests
        if excess <= 0:
            return None
        return max(self.history[-excess] + self.duration - self.now, 1.0)
