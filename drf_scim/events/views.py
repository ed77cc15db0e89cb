"""The receivers' endpoints: RFC 8936 polling (``POST <SCIM root>/Events``) and the signing keys
(``GET <SCIM root>/Events/jwks``).

A poll does its work in this order: it applies the ``ack`` and ``setErrs`` of the body, fans out one batch of
the outbox, then leases up to ``maxEvents`` due SETs of the token's receiver (``outbox.claim``, for
``EVENTS_LEASE_SECONDS``: what the receiver does not acknowledge comes back once the lease has run out). When
nothing is due and the receiver did not ask to ``returnImmediately``, it waits up to
``EVENTS_POLL_WAIT_SECONDS``, looking again every ``poll_interval`` seconds (two queries each time).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..exceptions import InvalidSyntax, InvalidValue, NotImplementedSCIM
from ..models import SCIMEventDelivery, SCIMEventReceiver
from ..permissions import EventsPermission
from ..settings import scim_settings
from ..tenancy import get_tenant
from ..views import SCIMViewMixin
from . import outbox, tokens

logger = logging.getLogger("drf_scim.events")
MEMBERS = ("maxEvents", "returnImmediately", "ack", "setErrs")


class EventsJSONRenderer(JSONRenderer):
    """``application/json``, the media type of RFC 8936's requests and responses (and of a JWK Set's usual
    serving), whatever ``RESPONSE_MEDIA_TYPE`` says."""

    media_type = "application/json"
    charset = None


class EventsNotConfigured(NotImplementedSCIM):
    """The service cannot sign SETs (no key, a bad key, no issuer): 501, not 503.

    Not 503, because nothing temporary is wrong and retrying in a few seconds changes nothing (503 comes with a
    Retry-After here); not 500, because it is no fault of the request's handling. Until an operator configures
    the key, this service does not offer signed SETs, which is what 501 says.
    """

    default_detail = "This service is not configured to sign SCIM events."


@dataclass
class PollRequest:
    """An RFC 8936 §2.2 poll request, checked: every member optional, every list bounded."""

    max_events: int
    return_immediately: bool = False
    ack: list[uuid.UUID] = field(default_factory=list)
    errors: dict[uuid.UUID, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Any) -> PollRequest:
        """Read a poll request body; a SCIM 400 (``invalidSyntax``, ``invalidValue``) names what is wrong."""
        if not isinstance(data, dict):
            raise InvalidSyntax('A poll request is a JSON object (RFC 8936 §2.2), e.g. {"maxEvents": 10}.')
        most = scim_settings.EVENTS_POLL_MAX_EVENTS
        max_events = data.get("maxEvents", most)
        if not isinstance(max_events, int) or isinstance(max_events, bool) or max_events < 0:
            raise InvalidValue("maxEvents must be an integer, 0 or more (0: acknowledge only).")
        return_immediately = data.get("returnImmediately", False)
        if not isinstance(return_immediately, bool):
            raise InvalidValue("returnImmediately must be true or false.")
        ack = data.get("ack", [])
        if not isinstance(ack, list):
            raise InvalidValue("ack must be an array of the jti values of the SETs received.")
        errs = data.get("setErrs", {})
        if not isinstance(errs, dict):
            raise InvalidValue('setErrs must be an object: jti -> {"err": ..., "description": ...}.')
        limit = scim_settings.EVENTS_POLL_MAX_ACKS
        if len(ack) + len(errs) > limit:
            raise InvalidValue(
                f"A poll may acknowledge or report at most {limit} SETs (ack and setErrs together); "
                f"this one names {len(ack) + len(errs)}."
            )
        acked = [parse_jti(jti, "ack") for jti in ack]
        errors = {parse_jti(jti, "setErrs"): error_text(jti, value) for jti, value in errs.items()}
        both = set(acked) & set(errors)
        if both:
            raise InvalidValue(f"The SET {min(map(str, both))} is both acknowledged and reported in setErrs.")
        return cls(min(max_events, most), return_immediately, list(dict.fromkeys(acked)), errors)


def parse_jti(value: Any, member: str) -> uuid.UUID:
    """A jti of ours: the UUID (in its usual 36-character form) a SET of this service carries."""
    try:
        if isinstance(value, str) and len(value) == 36:
            return uuid.UUID(value)
    except ValueError:
        pass
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    raise InvalidValue(f"{member}: {shown} is not the jti of a SET of this service (a UUID).")


def error_text(jti: str, value: Any) -> str:
    """The dead letter's error for one member of setErrs: ``"<err>: <description>"`` (RFC 8936 §2.6)."""
    if not isinstance(value, dict) or not isinstance(value.get("err"), str) or not value["err"]:
        raise InvalidValue(f'setErrs[{jti}] must be an object with an "err" code, e.g. {{"err": "invalid_key"}}.')
    description = value.get("description", "")
    if not isinstance(description, str):
        raise InvalidValue(f"setErrs[{jti}].description must be a string.")
    return f"{value['err']}: {description}" if description else value["err"]


class PollView(SCIMViewMixin, APIView):
    """RFC 8936 polling: a poll receiver acknowledges the SETs it has, reports those it rejects, and gets the
    next ones, ``{"sets": {jti: SET}, "moreAvailable": bool}``.

    The token needs ``EVENTS_SCOPE``; its OAuth2 application is the ``client_id`` of the active poll
    receivers (of the request's tenant) whose SETs it gets. A long poll holds its worker and a database
    connection while it waits: set ``EVENTS_POLL_WAIT_SECONDS`` to what the deployment can spare.
    """

    permission_classes = [EventsPermission]
    renderer_classes = [EventsJSONRenderer]
    # Seconds between two looks at the outbox while a long poll waits.
    poll_interval: float = 1.0

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        # Outside ATOMIC_REQUESTS: a long poll holds no transaction (nor the locks of its fan-out) while it
        # waits, and what it acknowledges stays acknowledged whatever happens after.
        return transaction.non_atomic_requests(super().as_view(**initkwargs))

    def get_receivers(self, request: Any) -> list[SCIMEventReceiver]:
        """The receivers whose SETs this token polls: the active poll receivers of its application and tenant."""
        application = getattr(request.auth, "application", None)
        client_id = getattr(application, "client_id", None)
        if not client_id:
            raise PermissionDenied("Polling for SCIM events needs an OAuth2 token of a poll receiver's client.")
        receivers = list(
            SCIMEventReceiver.objects.filter(
                active=True, delivery=SCIMEventReceiver.Delivery.POLL, client_id=client_id, tenant=get_tenant(request)
            ).order_by("pk")
        )
        if not receivers:
            raise PermissionDenied(
                f"No active poll receiver is configured for the OAuth2 client {client_id!r}: an operator adds one "
                "(delivery 'poll', this client_id) before it can poll for SCIM events."
            )
        return receivers

    def get_wait_seconds(self, poll: PollRequest) -> float:
        """How long this poll may wait for a SET (0: answer at once)."""
        if poll.return_immediately or not poll.max_events:
            return 0.0
        return float(scim_settings.EVENTS_POLL_WAIT_SECONDS or 0)

    def check_signing(self) -> None:
        """Refuse (501) before taking anything when SETs cannot be signed, so no lease is taken for nothing."""
        try:
            tokens.signing_key()
            tokens.issuer()
        except ImproperlyConfigured as exc:
            logger.error("SCIM event poll refused: %s", exc)
            raise EventsNotConfigured(f"This service cannot sign SCIM events: {exc}") from None

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        receivers = self.get_receivers(request)
        poll = PollRequest.parse(request.data)
        self.check_signing()
        theirs = SCIMEventDelivery.objects.filter(receiver__in=receivers)
        if poll.ack:
            outbox.delivered(theirs.filter(jti__in=poll.ack))
        outbox.rejected(theirs, poll.errors)
        if not poll.max_events:
            outbox.fan_out(max_batches=1)
            return self.answer({}, more=outbox.due(receivers).exists())
        deadline = time.monotonic() + self.get_wait_seconds(poll)
        while True:
            outbox.fan_out(max_batches=1)
            claimed = outbox.claim(receivers, poll.max_events)
            if claimed or time.monotonic() + self.poll_interval > deadline:
                break
            time.sleep(self.poll_interval)
        more = len(claimed) == poll.max_events and outbox.due(receivers).exists()
        return self.answer({str(delivery.jti): tokens.encode(delivery) for delivery in claimed}, more=more)

    def answer(self, sets: dict[str, str], *, more: bool) -> Response:
        return Response({"sets": sets, "moreAvailable": more})


class JWKSView(SCIMViewMixin, APIView):
    """The JWK Set receivers verify SETs with (``tokens.public_jwks()``): public, and cacheable for
    ``max_age`` seconds (a receiver that meets an unknown ``kid`` fetches it again)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [EventsJSONRenderer]
    max_age = 3600

    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        try:
            keys = tokens.public_jwks()
        except ImproperlyConfigured as exc:
            logger.error("SCIM event keys not served: %s", exc)
            raise EventsNotConfigured(f"This service cannot sign SCIM events: {exc}") from None
        return Response(keys, headers={"Cache-Control": f"public, max-age={self.max_age}"})
