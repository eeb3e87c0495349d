"""WSGI entry point used by gunicorn (``gunicorn.conf.py``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings")
application = get_wsgi_application()
