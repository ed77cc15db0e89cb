"""``gunicorn drf_site.wsgi`` with benchmarks/ as the working directory."""

import os
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(BENCHMARKS), str(BENCHMARKS.parent)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drf_site.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
