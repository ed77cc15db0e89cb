"""One PATCH of one resource, from the parsed operations to the validated save and the relation deltas."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import models
from rest_framework import serializers

from ..django_internals import annotation_names
from ..exceptions import InvalidValue, flatten_detail
from ..plans.rendered import Rendered
from ..serializers.relations import relation_names
from .engine import PatchResult, apply_operations
from .operations import Operation


class PatchRequest:
    """Applies a PatchOp to one resource for ``UpdateResourceMixin.partial_update``, inside its transaction.

    The operations change the resource's document rendered without its relations (``apply``); the
    patched document is validated as a PUT body would be, and the view saves it; the operations on
    writable relations (a group's members) then become set deltas (``apply_relation_changes``).
    """

    def __init__(
        self,
        serializer_class: type[serializers.Serializer],
        context: dict[str, Any],
        operations: list[Operation],
        *,
        no_content: bool,
    ) -> None:
        self.serializer_class = serializer_class
        self.operations = operations
        self.no_content = no_content  # a 204 answers: no response document to read
        self.reader = serializer_class(context=context)
        self.relations = relation_names(self.reader, writable_only=True)
        # The document the operations apply to: every attribute (no projection), no relation.
        self.context = {**context, "projection": None, "omit": relation_names(self.reader)}
        self.reader = serializer_class(context=self.context)
        projection = context.get("projection")
        asked = set(projection.attributes or ()) if projection is not None else set()
        # The response shows the writable relations only when asked for by name (a 100,000-member group).
        self.response_context = {**context, "omit": {name for name in self.relations if name.lower() not in asked}}
        self.result: PatchResult | None = None
        self.original: str | None = None  # the document before the operations, as JSON (``apply``)

    @property
    def purpose(self) -> str:
        """What the viewset caches this PATCH's queryset (and its prepared read) under."""
        return f"patch:{self.no_content}"

    def build_queryset(self, base: models.QuerySet) -> models.QuerySet:
        """The rows a PATCH reads from ``base``: what the document needs and, when a response is rendered, what
        it shows (the related rows' columns it asks for, the read-only relations such as a user's groups),
        which come with the locked row. Writable ones (members) are read after the write: a PATCH that waited
        for the lock would see them as they were when its statement began, older than the version it then
        writes."""
        if self.no_content:
            return self.reader.select_related_rows(base)
        response = self.serializer_class(context={**self.response_context, "omit": self.relations})
        return self.reader.select_related_rows(base, response).annotate(**response.get_annotations())

    def apply(self, instance: models.Model) -> serializers.Serializer:
        """The serializer, validated, that saves ``instance`` with the operations applied; a 400 naming the
        operation when the patched document is invalid."""
        # Plain JSON twice from one text (no ReturnDict): the document as it is, and the copy the operations
        # change; the text is also what the audit trail compares the saved resource with.
        text = self.original = json.dumps(self.serializer_class(instance, context=self.context).data)
        self.result = result = apply_operations(
            self.reader, json.loads(text), self.operations, working=json.loads(text)
        )
        # The attributes the operations changed are validated and written, the others stay as stored;
        # but a validate() of yours sees every attribute, as on PUT: then every one is validated.
        overrides_validate = self.serializer_class.validate is not serializers.Serializer.validate
        context = self.context if overrides_validate else {**self.context, "changed": result.changed}
        serializer = self.serializer_class(instance, data=result.document, context=context)
        if not serializer.is_valid():
            detail = "; ".join(flatten_detail(serializer.errors))
            raise InvalidValue(f"{result.engine.blame(serializer.errors)}: {detail}")
        return serializer

    def original_document(self) -> dict[str, Any]:
        """The document the operations were applied to, as it was (the audit trail compares it with the saved one)."""
        return json.loads(self.original) if self.original is not None else {}

    @property
    def changes_relations(self) -> bool:
        """Whether the operations change a relation (a group's members)."""
        return bool(self.result and self.result.relations)

    def apply_relation_changes(self, instance: models.Model) -> None:
        """Apply the relation deltas to ``instance`` after its save, each attribute's in order, by that attribute."""
        by_attribute: dict[Any, list[Any]] = {}
        for change in self.result.relations if self.result else ():
            by_attribute.setdefault(change.field, []).append(change)
        for attribute, changes in by_attribute.items():
            attribute.apply_changes(instance, changes)

    def get_response_serializer(
        self,
        instance: models.Model,
        queryset: models.QuerySet,
        refresh: Callable[[Any, models.Model], None],
        *,
        rendered: Rendered | None = None,
    ) -> serializers.Serializer:
        """The serializer of the 200 response; ``refresh`` reads the relations it shows that ``queryset``
        (what ``build_queryset`` returned) did not bring in the row, or that the PATCH changed. ``rendered``:
        the audit trail's rendering of the saved resource, which it takes what it may from."""
        context = self.response_context if rendered is None else {**self.response_context, "rendered": rendered}
        serializer = self.serializer_class(instance, context=context)
        if self.changes_relations or not annotation_names(queryset) or self.relations - self.response_context["omit"]:
            refresh(serializer, instance)
        return serializer
