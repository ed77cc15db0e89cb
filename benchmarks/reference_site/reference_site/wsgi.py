"""WSGI entry point: ``gunicorn reference_site.wsgi --chdir benchmarks/reference_site``."""

import os
import sys
from pathlib import Path

SITE = Path(__file__).resolve().parent.parent
for path in (str(SITE.parent), str(SITE)):  # benchmarks/ (shared querycount), then this site first
    if path not in sys.path:
        sys.path.insert(0, path)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reference_site.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
