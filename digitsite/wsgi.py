"""
WSGI config for digitsite project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitsite.settings")

application = get_wsgi_application()

# numba's start-up (about 0.4 s, even with its cache) is paid here, when the server process
# starts, so that the first request only reads the model's arrays (about 20 ms).
from ml.forest_arrays import warm_up  # noqa: E402

warm_up()
