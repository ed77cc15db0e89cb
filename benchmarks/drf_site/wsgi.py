"""``gunicorn drf_site.wsgi`` with benchmarks/ as the working directory."""

import os
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent
# benchmarks/ first (drf_site); the checkout last, so that a drf_scim on PYTHONPATH (make bench-compare's
# revisions) is the one served.
sys.path[:0] = [str(BENCHMARKS)]
sys.path.append(str(BENCHMARKS.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drf_site.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
