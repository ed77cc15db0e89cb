"""WSGI entry point: ``gunicorn sample_site.wsgi`` from the repository root."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sample_site.settings")

application = get_wsgi_application()
