"""Rate limits per provisioning client (off by default: see ``DRF_SCIM["THROTTLE_CLASSES"]``)."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import SimpleRateThrottle


class ClientRateThrottle(SimpleRateThrottle):
    """Limit each client (OAuth2 application, else user, else address) to ``DEFAULT_THROTTLE_RATES["scim"]``.

    Exceeding it answers a 429 SCIM Error with Retry-After.
    """

    scope = "scim"

    def get_cache_key(self, request: Any, view: Any) -> str:
        application = getattr(getattr(request, "auth", None), "application", None)
        if application is not None:
            ident = f"app:{application.pk}"
        elif getattr(request.user, "is_authenticated", False):
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
