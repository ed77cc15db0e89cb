"""Content negotiation that never refuses a client for its Accept header.

Identity providers send ``Accept: application/json``, ``*/*`` or nothing, and a
406 would break provisioning, so the first renderer always answers.
"""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation


class SCIMContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request: Any, renderers: list, format_suffix: str | None = None) -> tuple:
        renderer = renderers[0]
        return renderer, renderer.media_type
