"""Push delivery (RFC 8935): each SET POSTed to its receiver's endpoint by a worker, retried until acknowledged.

``PushWorker.run_once()`` fans the outbox out, then claims due deliveries of the active push receivers
(``outbox.claim``) and POSTs each SET as ``application/secevent+jwt``. What the receiver answers decides:

- 202 Accepted (any 2xx): delivered.
- 400 with an RFC 8935 error (``{"err": "invalid_request", "description": ...}``): the receiver rejected
  that SET, and sending it again would not change its mind: a dead letter at once.
- anything else (a network error, a timeout, a redirect, 401/403, 429, 5xx): retried after a backoff
  (``EVENTS_RETRY_SECONDS`` doubling up to ``EVENTS_RETRY_MAX_SECONDS``), a dead letter after
  ``EVENTS_MAX_ATTEMPTS`` attempts.

``manage.py scim_events deliver`` runs it once or in a loop; ``drf_scim.events.tasks`` is the Celery task.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from ..models import SCIMEventDelivery, SCIMEventReceiver
from ..settings import scim_settings
from . import outbox, tokens

logger = logging.getLogger("drf_scim.events")
BATCH_SIZE = 100


@dataclass
class DeliveryReport:
    """What one round did: events fanned out, SETs delivered, retried later, and dead-lettered."""

    fanned_out: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.delivered + self.retried + self.failed

    def add(self, other: DeliveryReport) -> None:
        self.fanned_out += other.fanned_out
        self.delivered += other.delivered
        self.retried += other.retried
        self.failed += other.failed
        self.errors.extend(other.errors)

    def as_dict(self) -> dict[str, int]:
        return {
            "fanned_out": self.fanned_out,
            "delivered": self.delivered,
            "retried": self.retried,
            "failed": self.failed,
        }


@dataclass
class Outcome:
    """What one push came to: ``delivered``, or an ``error`` that is ``final`` (no retry) or not."""

    delivered: bool
    status: int | None = None
    error: str = ""
    final: bool = False


class PushWorker:
    """Delivers the SETs of push receivers; one per process, reusing its HTTP connections.

    ``receivers``: a queryset narrowing which receivers this worker serves (default: every active push
    receiver). ``batch_size``: deliveries claimed per round. ``stop()`` (from a signal handler, say) ends
    ``run_forever`` after the push under way: the SETs claimed but not yet sent are released to be sent again.
    """

    def __init__(
        self,
        *,
        receivers: Any = None,
        batch_size: int = BATCH_SIZE,
        session: requests.Session | None = None,
    ) -> None:
        pushing = SCIMEventReceiver.objects.filter(active=True, delivery=SCIMEventReceiver.Delivery.PUSH)
        self.receivers = pushing if receivers is None else receivers.filter(pk__in=pushing.values("pk"))
        self.batch_size = batch_size
        self.session = session or requests.Session()
        self.stopped = threading.Event()

    def stop(self) -> None:
        """Stop after the push under way (safe to call from a signal handler or another thread)."""
        self.stopped.set()

    def run_once(self) -> DeliveryReport:
        """Fan the outbox out, then push what is due, round after round while a round delivers something (a
        delivered SET lets the next one of its resource go); what it did."""
        report = DeliveryReport(fanned_out=outbox.fan_out())
        while True:
            round_report = self.deliver(outbox.claim(self.receivers, self.batch_size))
            report.add(round_report)
            if self.stopped.is_set() or not round_report.delivered:
                return report

    def run_forever(self, interval: float = 1.0, *, should_stop: Callable[[], bool] = lambda: False) -> None:
        """``run_once`` in a loop, sleeping ``interval`` seconds after a round that found nothing to do."""
        while not should_stop() and not self.stopped.is_set():
            try:
                report = self.run_once()
            except Exception:  # the database went away, say: log it, wait, go on
                logger.exception("SCIM event delivery round failed")
                report = DeliveryReport()
            if not report.attempted and not report.fanned_out:
                self.stopped.wait(interval)

    def deliver(self, deliveries: list[SCIMEventDelivery]) -> DeliveryReport:
        """Push each claimed delivery and record its outcome: the acknowledged ones in one UPDATE per status
        at the end (a claim holds one SET per resource, so none waits for another of the batch), each
        failure as it comes."""
        report = DeliveryReport()
        acknowledged: dict[int | None, list[SCIMEventDelivery]] = defaultdict(list)
        for at, delivery in enumerate(deliveries):
            if self.stopped.is_set():
                outbox.release(deliveries[at:])
                break
            outcome = self.push(delivery)
            if outcome.delivered:
                acknowledged[outcome.status].append(delivery)
                report.delivered += 1
                continue
            state = outbox.failed(delivery, outcome.error, status=outcome.status, final=outcome.final)
            message = f"SET {delivery.jti} to {delivery.receiver}: {outcome.error}"
            report.errors.append(message)
            if state == SCIMEventDelivery.State.FAILED:
                report.failed += 1
                logger.error("%s; a dead letter after %d attempts", message, delivery.attempts)
            else:
                report.retried += 1
                logger.warning("%s; retried later (attempt %d)", message, delivery.attempts)
        for status, done in acknowledged.items():
            outbox.delivered(done, status=status)
        return report

    def push(self, delivery: SCIMEventDelivery) -> Outcome:
        """POST the SET of ``delivery`` to its receiver and read the answer (RFC 8935 §2)."""
        receiver = delivery.receiver
        headers = {"Content-Type": tokens.MEDIA_TYPE, "Accept": "application/json"}
        if receiver.authorization:
            headers["Authorization"] = receiver.authorization
        try:
            body = tokens.encode(delivery)
        except Exception as exc:  # a key or issuer setting is wrong: nothing is sent, the SET waits
            return Outcome(False, error=f"not signed: {type(exc).__name__}: {exc}")
        timeout = scim_settings.EVENTS_PUSH_TIMEOUT
        try:
            response = self.session.post(
                receiver.endpoint, data=body, headers=headers, timeout=timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            return Outcome(False, error=f"{type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return Outcome(True, status=response.status_code)
        error = rejection(response)
        if response.status_code == 400 and error is not None:
            return Outcome(False, status=400, error=error, final=True)
        return Outcome(False, status=response.status_code, error=error or f"HTTP {response.status_code}")


def rejection(response: requests.Response) -> str | None:
    """The RFC 8935 §2.3 error a receiver answered (``"invalid_key: <description>"``), else None."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("err"), str):
        return None
    description = body.get("description")
    return f"{body['err']}: {description}" if isinstance(description, str) and description else body["err"]
