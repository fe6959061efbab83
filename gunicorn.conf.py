"""Gunicorn settings for `make serve` (read by `gunicorn -c gunicorn.conf.py`).

Every knob comes from the environment: HOST, PORT, WEB_CONCURRENCY, GUNICORN_THREADS,
GUNICORN_TIMEOUT.
"""

import os

# Each worker serves one request at a time: a BLAS thread pool per worker would only fight the
# other workers for the cores (an in-process canvas upload took 320 ms with it, 135 ms without).
# Set before the app (numpy) is imported by --preload.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

wsgi_app = "digitsite.wsgi:application"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads per worker (gthread when > 1): a thread waiting on the database or on a file lets
# another one compute; SQLite canvas uploads went from 70/s to 98/s with 4 (docs/benchmarks.md).
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Import Django, load the active model and warm the request path (digitsite/wsgi.py ->
# digitsite.startup) once in the master; the forked workers share those pages copy-on-write.
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
    """In the master, after the app (and its warm-up) loaded, before the first fork."""
    from digitsite import startup

    startup.freeze()
