"""
WSGI config for digitsite project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitsite.settings")

application = get_wsgi_application()

# A server must not boot without its key: every session and CSRF token would fail at run time.
try:
    settings.SECRET_KEY  # noqa: B018 - Django raises here when the key is empty
except ImproperlyConfigured as exc:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Set it (see .env.example), or run locally with "
        "DJANGO_DEBUG=true, which `make run` and `make test` do for you."
    ) from exc

# numba's start-up (about 0.4 s, even with its cache) is paid here, when the server process
# starts, so that the first request only reads the model's arrays (about 20 ms).
from ml.forest_arrays import warm_up  # noqa: E402

warm_up()
