"""The ``DRF_SCIM`` settings dict, resolved lazily like DRF's ``api_settings``.

Usage::

    from drf_scim.settings import scim_settings
    scim_settings.DEFAULT_PAGE_SIZE

Values are read from ``settings.DRF_SCIM`` on first access and reloaded whenever
that setting changes (so ``override_settings`` works in tests).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

SETTING_NAME = "DRF_SCIM"

DEFAULTS: dict[str, Any] = {
    # Absolute URL of the SCIM root (e.g. "https://api.example.com/scim/v2"), used
    # for meta.location and $ref when the service runs behind a proxy. None: build
    # it from the request.
    "BASE_URL": None,
    # Serializers of the built-in resource types.
    "USER_SERIALIZER": "drf_scim.serializers.UserSerializer",
    "GROUP_SERIALIZER": "drf_scim.serializers.GroupSerializer",
    # Policies of every SCIM view.
    "AUTHENTICATION_CLASSES": ["drf_scim.authentication.SCIMOAuth2Authentication"],
    "PERMISSION_CLASSES": ["drf_scim.permissions.SCIMScopePermission"],
    "PARSER_CLASSES": ["drf_scim.parsers.SCIMParser", "drf_scim.parsers.JSONParser"],
    "RENDERER_CLASSES": ["drf_scim.renderers.SCIMRenderer"],
    "PAGINATION_CLASS": "drf_scim.pagination.SCIMPagination",
    # filter= and sortBy=; django-filter's backend acts only on viewsets that
    # declare a filterset_class (whose filters also map SCIM attributes to lookups).
    "FILTER_BACKENDS": [
        "drf_scim.filters.backends.SCIMFilterBackend",
        "drf_scim.filters.backends.SCIMSortBackend",
        "django_filters.rest_framework.DjangoFilterBackend",
    ],
    "CONTENT_NEGOTIATION_CLASS": "drf_scim.negotiation.SCIMContentNegotiation",
    "EXCEPTION_HANDLER": "drf_scim.exceptions.scim_exception_handler",
    # OAuth2 scopes a token needs for reads (GET, .search) and writes.
    "READ_SCOPE": "scim:read",
    "WRITE_SCOPE": "scim:write",
    # Function (request) -> tenant key; None serves a single tenant. Multi-tenant
    # deployments use "drf_scim.tenancy.application_tenant" (scim_token --tenant).
    "TENANT_RESOLVER": None,
    # Function (account) -> tenant key or None: the tenant of a user or group made outside SCIM (the
    # admin, a sign-up form, a fixture, an import), which then is a SCIM resource of that tenant; None
    # leaves the account out of SCIM. Unset: every account but staff and superusers joins the single tenant
    # when TENANT_RESOLVER is None, and none is adopted when it is set (drf_scim.adoption).
    "ADOPTION_TENANT": None,
    # Seconds between two writes of a process's request counts per connection (drf_scim.activity), shown on the
    # admin's connections page: a process writes them after a request once this time has passed (0: after every
    # request). None: requests are not counted.
    "ACTIVITY_FLUSH_SECONDS": 10,
    # The fast path (drf_scim.plans): querysets, prepared SQL, filter translators and built fields kept per
    # process and shared by requests. False builds all of them for each request, as plain DRF would.
    "FAST_PATH": True,
    # Add the (redacted) body of POST, PUT and PATCH requests to the drf_scim.requests log.
    "LOG_REQUEST_BODIES": False,
    # Function (request) -> the user model instance /Me stands for, or None (501).
    "ME_RESOLVER": "drf_scim.me.token_user",
    # Whether /ServiceProviderConfig, /ResourceTypes and /Schemas need a token (with
    # the read or the write scope). False: anyone may read them.
    "DISCOVERY_REQUIRES_AUTHENTICATION": True,
    # Whether the OpenAPI document, Swagger UI and Redoc (drf_scim.contrib.drf_spectacular's views) need a
    # token with the read or write scope, or a staff user's session. False: anyone may read them.
    "OPENAPI_REQUIRES_AUTHENTICATION": False,
    # authenticationSchemes announced in /ServiceProviderConfig.
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with an OAuth 2.0 bearer token (RFC 6750).",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": True,
        }
    ],
    # documentationUri announced in /ServiceProviderConfig (None: left out).
    "DOCUMENTATION_URI": None,
    # Scopes that grant access to one resource type only, by resource type name, e.g.
    # {"User": {"read": "scim:users:read", "write": "scim:users:write"}}. A token with
    # READ_SCOPE/WRITE_SCOPE still reaches every resource type.
    "RESOURCE_TYPE_SCOPES": {},
    # Seconds a process trusts a bearer token it verified, without looking it up again (0: every request).
    # Expiry is still checked on each request; a revocation reaches the other processes within this time.
    "TOKEN_CACHE_SECONDS": 5,
    # Realm announced in WWW-Authenticate on 401 responses.
    "AUTHENTICATION_REALM": "scim",
    # Paging: the count used when a client sends none, and the most it may ask for.
    "DEFAULT_PAGE_SIZE": 100,
    "MAX_PAGE_SIZE": 1000,
    # Longest filter accepted (characters) and deepest nesting of parentheses,
    # brackets and not; beyond them a filter is a 400 invalidFilter.
    "FILTER_MAX_LENGTH": 4096,
    "FILTER_MAX_DEPTH": 32,
    # The complexity budget of one filter (docs/topics/limits.rst): comparisons and presence tests, value filters
    # (emails[...], each a subquery), and co/ew comparisons (substring matches, which no index serves and
    # which scan the attribute's rows). Beyond any of them a filter is a 400 invalidFilter.
    "FILTER_MAX_CLAUSES": 50,
    "FILTER_MAX_VALUE_FILTERS": 10,
    "FILTER_MAX_SUBSTRING_CLAUSES": 5,
    # Most values of one multi-valued attribute (emails, roles...) a resource may hold; more is a 400 tooMany.
    # Relations (members, groups) are limited by MAX_MEMBERS_PER_OPERATION instead.
    "MAX_ATTRIBUTE_VALUES": 100,
    # The work one PatchOp may do: over its operations, the values of the multi-valued attribute each one
    # changes times the values it gives (at least 1). More is a 400 tooMany before anything is written.
    "MAX_PATCH_COST": 100_000,
    # PostgreSQL's statement_timeout (milliseconds) on the connections that serve SCIM requests: a statement
    # running longer is cancelled and the request answers a SCIM 503. 0 or None: no timeout.
    "STATEMENT_TIMEOUT": 5000,
    # Most member values one operation (a PATCH operation, or a Group's members in POST/PUT) may carry.
    "MAX_MEMBERS_PER_OPERATION": 10000,
    # DRF throttle classes of every SCIM view, e.g. ["drf_scim.throttling.ClientRateThrottle"] with
    # REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["scim"] = "600/min". Empty: no rate limit.
    "THROTTLE_CLASSES": [],
    # Most operations one PatchOp may carry.
    "MAX_PATCH_OPERATIONS": 1000,
    # Resource types whose PATCH answers 204 No Content unless the client asks for
    # attributes (Entra recommends it for groups); the others answer 200 with the resource.
    "PATCH_NO_CONTENT": ["Group"],
    # Most operations in one BulkRequest (maxOperations); the body is limited by MAX_PAYLOAD_SIZE.
    "BULK_MAX_OPERATIONS": 1000,
    # Seconds a cursor (RFC 9865) stays valid; announced as cursorTimeout.
    "CURSOR_TIMEOUT": 3600,
    # Media type of every response. OneLogin asks for "application/json".
    "RESPONSE_MEDIA_TYPE": "application/scim+json",
    # Largest request body accepted, in bytes (413 beyond it, checked before parsing).
    "MAX_PAYLOAD_SIZE": 1_048_576,
    # False: DELETE /Users/{id} deletes the user. True: the user is deactivated and
    # kept for audit, and disappears from SCIM (404 from then on).
    "SOFT_DELETE_USERS": False,
    # Days the audit trail (drf_scim.audit) keeps a change: manage.py scim_audit prune deletes older ones.
    # None: kept until deleted otherwise.
    "AUDIT_RETENTION_DAYS": 365,
    # -- Events (RFC 9967 Security Event Tokens; docs/topics/events.rst) --
    # Whether each committed change also writes an event to the outbox (drf_scim.events), in its transaction.
    "EVENTS_OUTBOX": True,
    # The SETs' "iss" claim. None: BASE_URL.
    "EVENTS_ISSUER": None,
    # The private key SETs are signed with: PEM text, or a JWK as JSON. None: django-oauth-toolkit's
    # OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]. Its public half is served at <SCIM root>/Events/jwks.
    "EVENTS_SIGNING_KEY": None,
    # The JWS algorithm: RS256 (RSA keys), ES256 (P-256), EdDSA (Ed25519)...
    "EVENTS_SIGNING_ALGORITHM": "RS256",
    # Failed pushes of one SET before it is a dead letter (state "failed", listed in the admin).
    "EVENTS_MAX_ATTEMPTS": 10,
    # Seconds before the first retry of a failed push; each next one waits twice as long, up to the maximum.
    "EVENTS_RETRY_SECONDS": 30,
    "EVENTS_RETRY_MAX_SECONDS": 3600,
    # Seconds a push may take (connect and read) before it counts as failed.
    "EVENTS_PUSH_TIMEOUT": 10,
    # The scope a poll receiver's token needs (RFC 8936).
    "EVENTS_SCOPE": "scim:events",
    # Seconds a SET handed out by a poll, or held by a push worker, stays away from others before it is
    # offered again unacknowledged.
    "EVENTS_LEASE_SECONDS": 60,
    # Whether /ServiceProviderConfig announces securityEvents (RFC 9967 §4) while EVENTS_OUTBOX is on. False for
    # clients that refuse attributes RFC 7643 does not list (scim2-models 0.12 does).
    "EVENTS_ADVERTISE": True,
    # The poll endpoint (RFC 8936, POST <SCIM root>/Events): the most SETs one poll returns (maxEvents is
    # capped to it, and is it when a receiver sends none), the most jtis one poll may acknowledge or report
    # (ack and setErrs together), and how long a poll that finds nothing waits for a SET (long polling,
    # re-checking every second: two queries a second; 0: every poll answers at once).
    "EVENTS_POLL_MAX_EVENTS": 100,
    "EVENTS_POLL_MAX_ACKS": 1000,
    "EVENTS_POLL_WAIT_SECONDS": 10,
    # Days delivered SETs and fanned-out events are kept: manage.py scim_events prune deletes older ones.
    "EVENTS_RETENTION_DAYS": 30,
}

IMPORT_STRINGS = {
    "THROTTLE_CLASSES",
    "ME_RESOLVER",
    "TENANT_RESOLVER",
    "ADOPTION_TENANT",
    "USER_SERIALIZER",
    "GROUP_SERIALIZER",
    "AUTHENTICATION_CLASSES",
    "PERMISSION_CLASSES",
    "PARSER_CLASSES",
    "RENDERER_CLASSES",
    "PAGINATION_CLASS",
    "FILTER_BACKENDS",
    "CONTENT_NEGOTIATION_CLASS",
    "EXCEPTION_HANDLER",
}


def perform_import(value: Any, setting_name: str) -> Any:
    """Import a dotted path, or each dotted path of a list."""
    if value is None:
        return None
    if isinstance(value, str):
        return import_from_string(value, setting_name)
    if isinstance(value, (list, tuple)):
        return [import_from_string(item, setting_name) if isinstance(item, str) else item for item in value]
    return value


def import_from_string(value: str, setting_name: str) -> Any:
    try:
        return import_string(value)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"Could not import {value!r} for {SETTING_NAME}[{setting_name!r}]: {exc}. "
            f"Write a dotted path to an importable class, e.g. {DEFAULTS[setting_name]!r}."
        ) from exc


class SCIMSettings:
    """Attribute access to ``settings.DRF_SCIM`` merged over ``DEFAULTS``."""

    def __init__(self, defaults: dict[str, Any] | None = None, import_strings: set[str] | None = None):
        self.defaults = defaults or DEFAULTS
        self.import_strings = import_strings or IMPORT_STRINGS
        self._cached: set[str] = set()
        self._user_settings: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        if self._user_settings is None:
            value = getattr(settings, SETTING_NAME, {}) or {}
            if not isinstance(value, dict):
                raise ImproperlyConfigured(
                    f"{SETTING_NAME} must be a dict, e.g. {SETTING_NAME} = {{'READ_SCOPE': 'scim:read'}}."
                )
            self._user_settings = value
        return self._user_settings

    def __getattr__(self, attr: str) -> Any:
        if attr not in self.defaults:
            raise AttributeError(f"Invalid {SETTING_NAME} setting: {attr!r}")
        value = self.user_settings.get(attr, self.defaults[attr])
        if attr in self.import_strings:
            value = perform_import(value, attr)
        self._cached.add(attr)
        setattr(self, attr, value)
        return value

    def reload(self) -> None:
        for attr in self._cached:
            delattr(self, attr)
        self._cached.clear()
        self._user_settings = None


scim_settings = SCIMSettings()


def reload_scim_settings(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        scim_settings.reload()


setting_changed.connect(reload_scim_settings)
