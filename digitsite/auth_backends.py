from axes.backends import AxesStandaloneBackend


class AxesBackend(AxesStandaloneBackend):
    """Axes' lockout check for every login that comes with an HTTP request.

    Calls without a request (the test client's `login()`, scripts) have no client address to
    throttle and no attacker on the other end, so they pass through to the next backend instead
    of raising AxesBackendRequestParameterRequired.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
