"""WSGI entry point (gunicorn, or any WSGI server): https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitsite.settings")

from digitsite import startup  # reads the settings named above

startup.check_secret_key()
startup.prepare_dirs()
application = get_wsgi_application()
startup.warm_up(application)
