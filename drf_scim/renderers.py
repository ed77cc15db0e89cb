"""The response renderer: JSON as ``application/scim+json`` (or the configured media type)."""

from __future__ import annotations

from rest_framework.renderers import JSONRenderer

from .settings import scim_settings


class SCIMRenderer(JSONRenderer):
    """Render JSON under ``DRF_SCIM["RESPONSE_MEDIA_TYPE"]``."""

    media_type = "application/scim+json"
    format = "scim"
    charset = None

    def __init__(self) -> None:
        # Per instance, so that the setting is read at request time.
        self.media_type = scim_settings.RESPONSE_MEDIA_TYPE
