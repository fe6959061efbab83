"""WSGI entry point (gunicorn, or any WSGI server): https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitsite.settings")

application = get_wsgi_application()

from digitsite import startup  # noqa: E402 - needs the settings configured above

startup.check_secret_key()
startup.warm_up(application)
