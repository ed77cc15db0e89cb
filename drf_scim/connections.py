"""Provisioning connections: the OAuth2 application an identity provider uses, its tenant and its tokens.

A connection is a django-oauth-toolkit application (client credentials) with a ``SCIMClient`` row that records
its tenant. ``scim_token`` and the connections page of the Django admin both go through these functions, so
they refuse the same mistakes: scopes that are not configured OAuth2 scopes (their token would get 403), a
tenant without a ``TENANT_RESOLVER``, and a connection moved to another tenant without being asked to.
A token's value is returned once, to be shown once; only its row is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_application_model, set_token_value
from oauth2_provider.scopes import get_scopes_backend
from oauthlib.common import generate_token

from .models import SCIMClient
from .settings import scim_settings

TENANT_NAME = re.compile(r"[A-Za-z0-9._-]{0,100}")
SCOPE_SEPARATORS = re.compile(r"[\s,]+")
DEFAULT_EXPIRES_DAYS = 365


class ConnectionRefused(Exception):
    """A request about a connection that would do harm or not work; the message says why and what to do."""


class MoveRefused(ConnectionRefused):
    """An existing connection asked to provision another tenant without being asked to move."""

    def __init__(self, name: str, current: str, wanted: str) -> None:
        self.name, self.current, self.wanted = name, current, wanted
        super().__init__(
            f"Connection {name!r} provisions {tenant_label(current)}: moving it, with its tokens, to "
            f"{tenant_label(wanted)} has to be asked for."
        )


@dataclass
class IssuedToken:
    """A new access token: its row, and its value, which exists nowhere else once this is dropped."""

    token: Any
    value: str
    revoked: int = 0

    @property
    def expires(self) -> datetime:
        return self.token.expires

    @property
    def scopes(self) -> list[str]:
        return self.token.scope.split()


def parse_scopes(text: str) -> list[str]:
    """The scopes of ``text``, separated by spaces or commas (or both), each once, in order."""
    return list(dict.fromkeys(scope for scope in SCOPE_SEPARATORS.split(text) if scope))


def default_scopes() -> list[str]:
    """READ_SCOPE and WRITE_SCOPE: what an identity provider needs to provision."""
    return list(dict.fromkeys([scim_settings.READ_SCOPE, scim_settings.WRITE_SCOPE]))


def available_scopes() -> dict[str, str]:
    """The configured OAuth2 scopes (``OAUTH2_PROVIDER["SCOPES"]``), name to description."""
    scopes = get_scopes_backend().get_all_scopes()
    return dict(scopes) if isinstance(scopes, dict) else {name: name for name in scopes}


def check_scopes(scopes: list[str], *, default: bool = False) -> None:
    """Refuse scopes that are not configured OAuth2 scopes: a token with them gets 403.

    ``default``: the scopes are READ_SCOPE and WRITE_SCOPE, as none were given.
    """
    if not scopes:
        raise ConnectionRefused("No scope given: a token needs at least one.")
    valid = list(available_scopes())
    unknown = [scope for scope in scopes if scope not in valid]
    if not unknown:
        return
    listed = f"{', '.join(map(repr, unknown))}: the valid ones (OAUTH2_PROVIDER['SCOPES']) are {', '.join(valid)}."
    if default:
        raise ConnectionRefused(
            f"The default scopes (DRF_SCIM's READ_SCOPE and WRITE_SCOPE) are not all OAuth2 scopes of this project, "
            f"{listed} Add them to OAUTH2_PROVIDER['SCOPES'], or name the scopes of the token."
        )
    raise ConnectionRefused(f"Unknown scope{'s' if len(unknown) > 1 else ''} {listed}")


def tenants_are_used() -> bool:
    """Whether connections have tenants here: only a ``TENANT_RESOLVER`` reads them."""
    return scim_settings.TENANT_RESOLVER is not None


def clean_tenant(tenant: str) -> str:
    """``tenant`` checked as a tenant name ("" is the default tenant)."""
    if not tenants_are_used():
        raise ConnectionRefused(
            "A tenant is only used with a tenant resolver: set DRF_SCIM['TENANT_RESOLVER'] "
            "(e.g. 'drf_scim.tenancy.application_tenant'). Without one every connection provisions the one tenant."
        )
    tenant = tenant.strip()
    if not TENANT_NAME.fullmatch(tenant):
        raise ConnectionRefused(
            "A tenant takes letters, digits, '.', '_' and '-' (at most 100), or '' for the default tenant."
        )
    return tenant


def tenant_label(tenant: str) -> str:
    return f"the tenant {tenant!r}" if tenant else "the default tenant"


def tenant_of(application: Any) -> str:
    """The tenant the application's tokens provision ("" the default)."""
    return SCIMClient.objects.filter(client_id=application.client_id).values_list("tenant", flat=True).first() or ""


@dataclass
class Connection:
    """An application as a connection: its tenant, whether it was just made, and the tenant it left."""

    application: Any
    tenant: str
    created: bool
    moved_from: str | None = None


def is_provisioning_application(application: Any) -> bool:
    """Whether ``application`` is one a connection may be: a confidential client-credentials client of no user.

    Any other application (a mobile app's, a partner's authorization-code client) serves people, whose tokens a
    connection's rotation or deletion would end; it never becomes a connection.
    """
    Application = get_application_model()
    return (
        application.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
        and application.client_type == Application.CLIENT_CONFIDENTIAL
        and application.user_id is None
    )


def application_named(name: str) -> Any:
    """The application a connection named ``name`` is (None: there is none yet); refused when an application
    of that name serves people rather than provisioning."""
    application = get_application_model().objects.filter(name=name.strip()).order_by("pk").first()
    if application is not None and not is_provisioning_application(application):
        raise ConnectionRefused(
            f"The OAuth2 application {application.name!r} is not a confidential client-credentials application of "
            "no user, so it is no provisioning connection: give the connection another name."
        )
    return application


def connect(name: str, *, tenant: str | None = None, move: bool = False) -> Connection:
    """The application named ``name`` as a connection, made when there is none.

    ``tenant`` None keeps the tenant it has; another tenant than its own needs ``move`` for an existing
    connection, since its tokens would see another tenant's users from then on.
    """
    Application = get_application_model()
    name = name.strip()
    if not name:
        raise ConnectionRefused("A connection needs a name, e.g. 'Okta'.")
    with transaction.atomic():
        application = application_named(name)
        created = application is None
        if created:
            application = Application.objects.create(
                name=name,
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            )
        record = SCIMClient.objects.filter(client_id=application.client_id).first()
        current = record.tenant if record is not None else ""
        if tenant is not None and tenant != current and not created and not move:
            raise MoveRefused(name, current, tenant)
        wanted = current if tenant is None else tenant
        if record is None:
            SCIMClient.objects.create(client_id=application.client_id, tenant=wanted)
        elif record.tenant != wanted:
            record.tenant = wanted
            record.save(update_fields=["tenant"])
    moved_from = current if wanted != current and not created else None
    return Connection(application, wanted, created, moved_from)


def with_tokens(queryset: QuerySet | None = None) -> QuerySet:
    """Connections annotated with their application (``application_pk``, ``name``), how many live tokens they
    have (``live_tokens``), the scopes of the one issued last (``scopes``) and when the last of them expires
    (``expires``, when provisioning stops unless a token is issued): one query."""
    queryset = SCIMClient.objects.all() if queryset is None else queryset
    application = get_application_model().objects.filter(client_id=OuterRef("client_id"))
    live = get_access_token_model().objects.filter(
        application__client_id=OuterRef("client_id"), expires__gt=timezone.now()
    )
    return queryset.annotate(
        application_pk=Subquery(application.values("pk")[:1]),
        name=Subquery(application.values("name")[:1]),
        live_tokens=Coalesce(
            Subquery(live.order_by().values("application").annotate(count=Count("pk")).values("count")[:1]), 0
        ),
        scopes=Subquery(live.order_by("-created", "-pk").values("scope")[:1]),
        expires=Subquery(live.order_by("-expires", "-pk").values("expires")[:1]),
    )


def live_tokens(application: Any) -> Any:
    """The tokens of ``application`` that have not expired, the one issued last first."""
    return (
        get_access_token_model()
        .objects.filter(application=application, expires__gt=timezone.now())
        .order_by("-created", "-pk")
    )


def lifetime_days(token: Any) -> int:
    """How many days ``token`` was issued for (at least 1)."""
    return max(1, round((token.expires - token.created).total_seconds() / 86400))


def issue_token(
    application: Any, scopes: list[str] | None = None, *, expires_days: int = DEFAULT_EXPIRES_DAYS
) -> IssuedToken:
    """A new access token for the connection; ``scopes`` None: READ_SCOPE and WRITE_SCOPE."""
    default = scopes is None
    scopes = default_scopes() if default else scopes
    check_scopes(scopes, default=default)
    if expires_days < 1:
        raise ConnectionRefused("A token expires after at least 1 day.")
    value = generate_token()
    token = get_access_token_model()(
        application=application,
        scope=" ".join(scopes),
        expires=timezone.now() + timedelta(days=expires_days),
    )
    set_token_value(token, value)  # only its checksum is kept under COMPLIANT_BCP_RFC9700_TOKEN_STORAGE
    token.save()
    return IssuedToken(token, value)


def rotate_token(application: Any, *, expires_days: int | None = None) -> IssuedToken:
    """A new token with the scopes of the live token issued last (or the default scopes), and every other token
    revoked. ``expires_days`` None: that token's lifetime (or 365 days).

    The identity provider stops working until the new token is entered in its console.
    """
    newest = live_tokens(application).first()
    scopes = newest.scope.split() if newest is not None and newest.scope.split() else None
    if expires_days is None:
        expires_days = lifetime_days(newest) if newest is not None else DEFAULT_EXPIRES_DAYS
    with transaction.atomic():
        revoked = revoke_tokens(application)
        issued = issue_token(application, scopes, expires_days=expires_days)
    issued.revoked = revoked
    return issued


def revoke_tokens(application: Any) -> int:
    """Revoke every access token of the connection (and its refresh tokens); how many there were."""
    count = 0
    for token in get_access_token_model().objects.filter(application=application):
        token.revoke()
        count += 1
    return count
