"""`/healthz` for load balancers and process managers: no login, no session, two cheap checks."""

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from recognizer import registry

logger = logging.getLogger(__name__)


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The driver's message can name hosts and users: it goes to the log, not to the public.
        logger.error("healthz_database_error error=%s", exc)
        return {"ok": False, "error": "The database does not answer."}
    return {"ok": True}


def _model() -> dict:
    try:
        # Cached per process: after the first load this is at most one indexed query.
        version, _ = registry.get_active_model()
    except registry.ModelUnavailable as exc:
        return {"ok": False, "error": str(exc)}
    except DatabaseError as exc:
        logger.error("healthz_model_lookup_error error=%s", exc)
        return {"ok": False, "error": "The active model cannot be looked up."}
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
