"""A resource rendered once per write: the audit trail's rendering of what a write saved, reused by its response.

A write renders the resource it saved for the audit trail (every attribute but the relations, no projection,
inside the transaction); its response renders the resource again once the transaction commits, with the
relations it shows. A :class:`Rendered` carries the first rendering to the serializer of the response (its
context's ``"rendered"``), which then renders only the attributes the first one left out, when nothing can
make the two renderings differ (``reusable_by``):

- the request asks for no projection: ``attributes`` and ``excludedAttributes`` change what an attribute
  renders (a manager's ``displayName``, returned on request), the audit trail renders without one;
- the response's serializer is of the class that rendered, with the same context (but for what a rendering
  of the audit trail sets: ``projection``, ``omit``), and its ``to_representation`` is drf_scim's (an override
  may render what it likes);
- the resource is still at the version rendered: a receiver of the change signals that saved it since has
  the response render it anew.

The attributes whose fields read related rows after a write (annotations, prefetches: the relations that
``refresh_relations`` reads back) are always rendered anew. The document is shared, not copied: what holds a
``Rendered`` must not change it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.db import models

# What a rendering for the audit trail, or for the response, sets in a serializer's context itself.
RENDERING_KEYS = frozenset({"projection", "omit", "rendered", "changed"})


@dataclass(frozen=True)
class Rendered:
    """``document``: the resource's representation, rendered by a ``serializer_class`` in ``context`` without
    the attributes in ``omitted`` and without projection, at the ``version`` (ETag) its SCIM row then had."""

    serializer_class: type
    context: dict[str, Any]
    document: dict[str, Any]
    omitted: frozenset[str]
    version: str

    @classmethod
    def of(cls, serializer: Any, instance: models.Model, document: dict[str, Any]) -> Rendered:
        """What ``serializer`` rendered of ``instance``: ``document``."""
        omitted: Collection[str] = serializer.context.get("omit") or ()
        version = serializer.get_resource(instance).etag
        return cls(type(serializer), context_of(serializer), document, frozenset(omitted), version)

    def reusable_by(self, serializer: Any, instance: models.Model) -> bool:
        """Whether ``serializer`` may take the attributes of ``instance`` from ``document``."""
        from ..serializers.base import SCIMSerializer  # which imports this module

        projection = serializer.get_projection()
        return (
            type(serializer) is self.serializer_class
            and type(serializer).to_representation is SCIMSerializer.to_representation
            and (projection is None or not projection.prunes)
            and serializer.get_resource(instance).etag == self.version
            and context_of(serializer) == self.context
        )


def context_of(serializer: Any) -> dict[str, Any]:
    """The context of ``serializer`` but for what a rendering sets itself (``RENDERING_KEYS``)."""
    return {key: value for key, value in serializer.context.items() if key not in RENDERING_KEYS}
