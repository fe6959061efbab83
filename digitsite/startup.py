"""What a server process does once, before its first request: one place for WSGI and gunicorn."""

import contextlib
import gc
import io
import logging
import sys
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

logger = logging.getLogger(__name__)


def prepare_dirs() -> None:
    """The folders a fresh clone lacks: the SQLite file's, and STATIC_ROOT, which WhiteNoise
    indexes at start-up (it warns when the folder is missing). manage.py, WSGI and the tests'
    conftest call this; settings only say where things are."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and database["NAME"] != ":memory:":
        Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def check_secret_key() -> None:
    # A server must not boot without its key: every session and CSRF token would fail at run time.
    try:
        settings.SECRET_KEY  # noqa: B018 - Django raises here when the key is empty
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it (see .env.example), or run locally with "
            "DJANGO_DEBUG=true, which `make run` and `make test` do for you."
        ) from exc


def warm_up(application) -> None:
    """Load the active model and pass one request and one image through, in this process.

    numba's start-up (about 0.4 s, even with its cache) and everything Django and the image
    libraries set up lazily (URL resolver, middleware, Pillow plugins, scipy.ndimage) are paid
    here. Under gunicorn's --preload this runs in the master before the fork, so the workers share
    it instead of each copying it: a worker's private memory after its first request went from
    48 MB to 11 MB. Nothing here may stop the server from starting: /healthz says what is wrong.
    """
    import numpy as np
    from PIL import Image

    from ml import crop, decode, reading
    from ml.forest_arrays import warm_up as warm_up_forest
    from recognizer import registry

    warm_up_forest()
    try:
        version, model = registry.get_active_model()
        logger.info("model preloaded version=%s", version.version)
    except Exception as exc:
        model = None
        logger.warning("model not preloaded: %s", exc)
    try:
        _health_request(application)
        canvas = np.full((280, 280), 255, dtype=np.uint8)
        canvas[60:220, 120:160] = 0
        png = io.BytesIO()
        Image.fromarray(canvas).save(png, format="PNG")
        image = decode.load_image(png.getvalue())
        if model is not None:
            # The upload path's reader: the line cutter as well as the one-digit path.
            reading.read_image(image, model)
        else:
            crop.to_mnist(image)
    except Exception as exc:  # only memory is at stake
        logger.warning("request path not warmed up: %s", exc)
    finally:
        # A database connection must never be shared by forked processes.
        connections.close_all()


def freeze() -> None:
    """Before forking workers: move what is loaded out of the collector's reach, so a worker's
    garbage collections no longer write to (and so copy) the pages it shares with the master.
    https://docs.python.org/3/library/gc.html#gc.freeze"""
    connections.close_all()
    gc.collect()
    gc.freeze()


def _health_request(application) -> None:
    hosts = [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h.strip(".*")]
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/healthz",
        "SERVER_NAME": hosts[0] if hosts else "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": hosts[0] if hosts else "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
    }
    with contextlib.closing(application(environ, lambda status, headers: None)) as body:
        for _ in body:
            pass
