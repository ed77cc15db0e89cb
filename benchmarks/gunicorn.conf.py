"""gunicorn settings shared by every benchmarked site (and a reasonable start for a drf_scim deployment)."""

import os

workers = int(os.environ.get("BENCH_WORKERS", "2"))
worker_class = "sync"
backlog = 256
timeout = 300  # the peer needs seconds for some requests at 100,000 users
keepalive = 2
accesslog = None
loglevel = "warning"
