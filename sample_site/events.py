"""The sample site's SCIM event receiver (RFC 8935 push), the one docs/topics/events.rst walks through.

``make run`` registers it as the push receiver "sample receiver"; ``make events`` runs the worker that POSTs
each SET here. ``receiver`` verifies the SET (signature against drf_scim's JWKS, ``typ``, ``iss``, ``aud``),
stores it once per ``jti`` and answers 202, or 400 with an RFC 8935 error. ``received`` lists what came.

A receiver on another host would fetch the JWKS from ``<SCIM root>/Events/jwks``; this one is the same site as
the transmitter, so it reads the same keys in-process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from jwcrypto import jwk, jws

from drf_scim.events import tokens


class Rejected(Exception):
    """A SET this receiver refuses, with its RFC 8935 §2.4 error code."""

    def __init__(self, err: str, description: str) -> None:
        super().__init__(description)
        self.err, self.description = err, description


def verify(token: str, keys: jwk.JWKSet, *, issuer: str, audience: str) -> dict[str, Any]:
    """The claims of ``token`` once its signature, type, issuer and audience are checked."""
    signed = jws.JWS()
    try:
        signed.deserialize(token)
        header = signed.jose_header
    except (jws.InvalidJWSObject, ValueError, TypeError) as exc:
        raise Rejected("invalid_request", f"Not a signed JWT: {exc}") from None
    if header.get("typ") != tokens.TYPE:
        raise Rejected("invalid_request", f"The JOSE header's typ is {header.get('typ')!r}, not 'secevent+jwt'.")
    key = keys.get_key(header.get("kid") or "")
    if key is None:
        raise Rejected("invalid_key", f"Key ID {header.get('kid')!r} is not one of the transmitter's keys.")
    signed.allowed_algs = [key.get("alg") or header.get("alg")]  # the key's algorithm, never the token's choice
    try:
        signed.verify(key)
    except jws.InvalidJWSSignature:
        raise Rejected("invalid_key", "The signature does not verify with the transmitter's key.") from None
    claims = json.loads(signed.payload)
    if claims.get("iss") != issuer:
        raise Rejected("invalid_issuer", f"This receiver takes SETs of {issuer}, not {claims.get('iss')!r}.")
    audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
    if audience not in audiences:
        raise Rejected("invalid_audience", f"This receiver is {audience}, not {claims.get('aud')!r}.")
    if not isinstance(claims.get("jti"), str) or not isinstance(claims.get("events"), dict):
        raise Rejected("invalid_request", "A SET has a jti and an events object (RFC 8417).")
    return claims


def stored_sets(path: Path | None = None) -> list[dict[str, Any]]:
    """What the receiver has stored, oldest first."""
    path = path or Path(settings.RECEIVED_SETS_FILE)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def store(claims: dict[str, Any], token: str) -> bool:
    """Keep one SET (persisted before the 202, as RFC 9967 §5 asks); False when its jti came before."""
    path = Path(settings.RECEIVED_SETS_FILE)
    if any(row["jti"] == claims["jti"] for row in stored_sets(path)):
        return False  # a retransmission: acknowledged again, stored once
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {"jti": claims["jti"], "received": timezone.now().isoformat(), "claims": claims, "token": token}
    with path.open("a") as file:
        file.write(json.dumps(row) + "\n")
    return True


@csrf_exempt
@require_POST
def receiver(request: HttpRequest) -> HttpResponse:
    """RFC 8935 §2: one SET per POST (``application/secevent+jwt``); 202 with no body once it is stored."""
    try:
        if request.content_type != tokens.MEDIA_TYPE:
            raise Rejected("invalid_request", f"The body is {request.content_type!r}, not {tokens.MEDIA_TYPE}.")
        keys = jwk.JWKSet.from_json(json.dumps(tokens.public_jwks()))
        token = request.body.decode("ascii", "replace").strip()
        claims = verify(token, keys, issuer=tokens.issuer(), audience=request.build_absolute_uri(request.path))
    except Rejected as rejected:
        response = JsonResponse({"err": rejected.err, "description": rejected.description}, status=400)
        response["Content-Language"] = "en"
        return response
    store(claims, token)
    return HttpResponse(status=202)


@staff_member_required
def received(request: HttpRequest) -> HttpResponse:
    """The SETs the receiver stored, newest first, decoded."""
    rows = [
        {**row, "events": list(row["claims"]["events"]), "document": json.dumps(row["claims"], indent=2)}
        for row in reversed(stored_sets())
    ]
    return render(request, "sample_site/events.html", {"rows": rows, "title": "Received SCIM events"})
