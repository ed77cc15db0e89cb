"""The Celery task that delivers SCIM events: ``deliver_events``, for projects that run Celery already.

Schedule it with Celery beat (every few seconds) instead of running ``manage.py scim_events deliver``;
workers share the work through the database either way. Importing this module without Celery installed
raises an ImportError that says so.
"""

from __future__ import annotations

from typing import Any

try:
    from celery import shared_task
except ImportError as exc:
    raise ImportError(
        "drf_scim.events.tasks is the Celery task of SCIM events and needs Celery (`pip install celery`); "
        "without it, run `manage.py scim_events deliver` instead."
    ) from exc

from .push import BATCH_SIZE, PushWorker


@shared_task(name="drf_scim.events.deliver_events", ignore_result=False)
def deliver_events(batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """Push the SETs due (one ``PushWorker.run_once``); what it did, as ``DeliveryReport.as_dict()``."""
    return PushWorker(batch_size=batch_size).run_once().as_dict()
