"""gunicorn settings for a drf_scim deployment (docs/howto/deploying.rst); each can be changed from the environment.

gunicorn sample_site.wsgi -c deploy/gunicorn.conf.py
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: each serves one request at a time, so a worker is the unit a slow request holds.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# A worker silent for longer is killed. drf_scim's limits (docs/topics/limits.rst) and its PostgreSQL statement
# timeout (DRF_SCIM["STATEMENT_TIMEOUT"], 5 s) answer a SCIM error well before it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# The longest request line: a filter longer than a URL allows goes through POST .search (a 414 otherwise).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Workers are replaced now and then, so that no slow leak grows without bound.
max_requests = 10000
max_requests_jitter = 1000
# Access lines carry the path without the query string (filters hold user names and e-mail addresses).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Trust X-Forwarded-* only from the proxy in front (set FORWARDED_ALLOW_IPS to its address).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def worker_exit(server, worker):
    """Write the worker's request counts per connection (the admin's connections page) before it goes."""
    try:
        from drf_scim.activity import flush
    except Exception:  # Django was never set up in this worker
        return
    flush()
