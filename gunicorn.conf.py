"""Gunicorn settings for `make serve` (read by `gunicorn -c gunicorn.conf.py`).

Every knob comes from the environment: HOST, PORT, WEB_CONCURRENCY, GUNICORN_THREADS,
GUNICORN_TIMEOUT.
"""

import gc
import os

# Each worker serves one request at a time: a BLAS thread pool per worker would only fight the
# other workers for the cores (an in-process canvas upload took 320 ms with it, 135 ms without).
# Set before the app (numpy) is imported by --preload.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
# A worker keeps its database connection between requests unless told otherwise: opening one
# per request (PostgreSQL: a new backend and a SCRAM login) capped canvas uploads at 32/s here,
# kept open they reached 110/s (docs/benchmarks.md, Speed). settings checks a reused connection
# before each request (CONN_HEALTH_CHECKS).
if not os.environ.get("DATABASE_CONN_MAX_AGE"):
    os.environ["DATABASE_CONN_MAX_AGE"] = "60"

wsgi_app = "digitsite.wsgi:application"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads per worker (gthread when > 1): a thread waiting on the database or on a file lets
# another one compute; SQLite canvas uploads went from 70/s to 98/s with 4 (docs/benchmarks.md).
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Import Django (and load the active model, below) once in the master; the forked workers share
# those pages copy-on-write instead of each loading its own copy.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# The control socket's default path is one per user ($HOME/.gunicorn/gunicorn.ctl), so two servers
# on one machine would take it from each other; nothing here uses it.
control_socket_disable = True
# Django logs one line per request (digitsite.middleware.RequestLogMiddleware): no access log here.
accesslog = None
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
_stdout = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "line"}
# Gunicorn's own messages (boot, worker exits) go to stdout like Django's. This replaces
# gunicorn's default dict whole, so every handler it names is defined here.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": _stdout, "error_console": _stdout},
    "root": {"level": loglevel.upper(), "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {
            "level": loglevel.upper(),
            "handlers": ["error_console"],
            "propagate": False,
        },
        # Access lines are INFO: Django's request line replaces them.
        "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
    },
}


def when_ready(server):
    """In the master, before the first fork: load the active model if there is one."""
    from django.db import connections

    from recognizer import registry

    try:
        version, _ = registry.get_active_model()
        server.log.info("model preloaded version=%s", version.version)
    except Exception as exc:  # the site still serves; /healthz and uploads say why
        server.log.warning("model not preloaded: %s", exc)
    try:
        _warm_up_request_path()
    except Exception as exc:  # only memory is at stake
        server.log.warning("request path not warmed up: %s", exc)
    finally:
        # A database connection must never be shared by forked processes.
        connections.close_all()
    # Everything loaded so far lives as long as the process: moved out of the collector's reach,
    # a worker's garbage collections no longer write to (and so copy) the pages it shares with
    # the master. https://docs.python.org/3/library/gc.html#gc.freeze
    gc.collect()
    gc.freeze()


def _warm_up_request_path():
    """One /healthz request and one image through preprocessing, in the master.

    Django and the image libraries set up a lot lazily on a process's first request (URL
    resolver, middleware state, Pillow plugins, scipy.ndimage). Done once here, before the fork,
    it is shared by every worker instead of copied into each: a worker's private memory after its
    first request went from 48 MB to 11 MB.
    """
    import contextlib
    import io

    import numpy as np
    from django.conf import settings
    from django.test import Client
    from PIL import Image

    from ml import preprocess
    from recognizer import registry

    hosts = [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h.strip(".*")]
    Client(HTTP_HOST=hosts[0] if hosts else "localhost").get("/healthz")
    canvas = np.full((280, 280), 255, dtype=np.uint8)
    canvas[60:220, 120:160] = 0
    png = io.BytesIO()
    Image.fromarray(canvas).save(png, format="PNG")
    model_input = preprocess.to_mnist(preprocess.load_image(png.getvalue()))
    with contextlib.suppress(registry.ModelUnavailable):
        registry.get_active_model()[1].predict_proba(model_input)
