"""`/healthz` for load balancers and process managers: no login, no session, two cheap checks."""

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from recognizer import registry


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return {"ok": False, "error": f"The database does not answer: {exc}"}
    return {"ok": True}


def _model() -> dict:
    try:
        # Cached per process: after the first load this is at most one indexed query.
        version, _ = registry.get_active_model()
    except registry.ModelUnavailable as exc:
        return {"ok": False, "error": str(exc)}
    except DatabaseError as exc:
        return {"ok": False, "error": f"The active model cannot be looked up: {exc}"}
    return {"ok": True, "version": version.version}


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database()}
    checks["model"] = (
        _model()
        if checks["database"]["ok"]
        else {"ok": False, "error": "Not checked: the database does not answer."}
    )
    healthy = all(check["ok"] for check in checks.values())
    failed = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "ok" if healthy else "unavailable", "checks": checks, "failed": failed}
    return JsonResponse(body, status=200 if healthy else 503)
