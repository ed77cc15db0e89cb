"""The PatchOp engine: operations applied, in order, to the plain JSON document of one resource."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rest_framework import serializers

from ..exceptions import (
    InvalidFilter,
    InvalidPath,
    InvalidValue,
    Mutability,
    NoTarget,
    SCIMException,
    TooMany,
)
from ..filters.budget import FilterTooComplex, check_budget
from ..filters.grammar import FilterSyntaxError, FilterValueError, parse_path
from ..filters.nodes import And, AttributePath, Comparison, Node, Not, Or, Present
from ..schema.attributes import READ_ONLY, attribute_of, mutability_of
from ..schema.paths import (
    PathResolver,
    UnknownAttribute,
    UnknownSchema,
    UnknownSubAttribute,
    find_attribute,
    sub_fields,
)
from ..serializers.relations import RelatedResourcesAttribute
from ..settings import scim_settings
from .operations import Operation

# What resolving one path costs against MAX_PATCH_COST, in compared values (parsing it is the dearer part).
PATH_COST = 10


@dataclass
class RelationChange:
    """A set delta on a relation attribute (members): add, remove, replace or remove_matching."""

    operation: Operation
    field: RelatedResourcesAttribute
    kind: str
    values: Any = None
    filter: Node | None = None


@dataclass
class Location:
    """Where a path points in the document: ``container[name]``, possibly narrowed by a filter and a sub-attribute."""

    container_keys: list[str]
    name: str
    field: serializers.Field
    filter: Node | None = None
    sub_attribute: str | None = None
    sub_field: serializers.Field | None = None
    touched: str = ""


def canonical(value: Any, field: serializers.Field | None, *, in_list: bool = False) -> Any:
    """``value`` with its keys renamed to the declared sub-attribute names (input names ignore case).

    Lists are entered once (values of a multi-valued attribute); anything nested deeper is left for
    validation to reject.
    """
    fields = sub_fields(field) if field is not None else {}
    if isinstance(value, list):
        return value if in_list else [canonical(item, field, in_list=True) for item in value]
    if not isinstance(value, Mapping) or not fields:
        return value
    result = {}
    for key, item in value.items():
        found = find_attribute(fields, str(key))
        name, sub = found if found else (key, None)
        result[name] = canonical(item, sub) if sub is not None and sub_fields(sub) else item
    return result


class PatchEngine:
    """Applies operations to the document of one resource, for one serializer."""

    def __init__(self, serializer: serializers.Serializer, document: dict[str, Any]) -> None:
        self.serializer = serializer
        self.document = document
        # PATCH paths may name writeOnly attributes (password), and Entra names "manager" without its URN.
        self.paths = PathResolver.for_serializer(serializer, unqualified_extensions=True)
        self.relations: list[RelationChange] = []
        self.touched: dict[str, Operation] = {}
        self.cost = 0  # the work done so far, against MAX_PATCH_COST (see charge())

    def charge(self, operation: Operation, units: int) -> None:
        """Count ``units`` of work (a path resolved, a stored value compared) and refuse the PatchOp with a
        400 tooMany once it exceeds ``MAX_PATCH_COST``, before anything is written."""
        self.cost += units
        limit = scim_settings.MAX_PATCH_COST
        if limit and self.cost > limit:
            raise TooMany(
                f"{operation.describe()}: the PatchOp compares more values than the server allows "
                f"(MAX_PATCH_COST, {limit}: operations times the values they compare). Send fewer operations, "
                "or replace the attribute whole."
            )

    # -- paths -------------------------------------------------------------

    def locate(self, path: AttributePath, operation: Operation) -> Location:
        try:
            resolved = self.paths.resolve(path)
        except UnknownSchema:
            raise InvalidPath(f"{operation.describe()}: unknown schema {path.schema!r}.") from None
        except UnknownAttribute:
            raise InvalidPath(f"{operation.describe()}: no attribute {str(path)!r} in this resource.") from None
        except UnknownSubAttribute as exc:
            raise InvalidPath(
                f"{operation.describe()}: {exc.attribute!r} has no sub-attribute {path.sub_attribute!r}."
            ) from None
        keys = [resolved.schema] if resolved.extension else []
        return Location(
            keys,
            resolved.attribute,
            resolved.field,
            sub_attribute=resolved.sub_attribute,
            sub_field=resolved.sub_field,
            touched=keys[0] if keys else resolved.attribute,
        )

    def resolve(self, text: str, operation: Operation) -> Location:
        urn = self.paths.extension(text)
        if urn is not None:  # the whole extension, e.g. "urn:...:enterprise:2.0:User"
            return Location([], urn, self.serializer.fields[urn], touched=urn)
        try:
            parsed = parse_path(
                text, max_length=scim_settings.FILTER_MAX_LENGTH, max_depth=scim_settings.FILTER_MAX_DEPTH
            )
        except FilterValueError as exc:  # the path parses; its filter compares with an impossible value
            raise InvalidFilter(f"{operation.describe()}: {exc}") from None
        except FilterSyntaxError as exc:
            raise InvalidPath(f"{operation.describe()}: {exc}") from None
        self.charge(operation, PATH_COST)
        location = self.locate(parsed.path, operation)
        if parsed.filter is not None:
            try:
                check_budget(
                    parsed.filter,
                    max_clauses=scim_settings.FILTER_MAX_CLAUSES,
                    max_value_filters=scim_settings.FILTER_MAX_VALUE_FILTERS,
                    max_substring_clauses=scim_settings.FILTER_MAX_SUBSTRING_CLAUSES,
                )
            except FilterTooComplex as exc:
                raise InvalidFilter(f"{operation.describe()}: {exc}") from None
            if not isinstance(location.field, serializers.ListSerializer) or location.sub_attribute:
                raise InvalidPath(f"{operation.describe()}: only a multi-valued attribute takes a [filter].")
            location.filter = parsed.filter
            if parsed.sub_attribute:
                found = find_attribute(sub_fields(location.field), parsed.sub_attribute)
                if found is None:
                    raise InvalidPath(f"{operation.describe()}: no sub-attribute {parsed.sub_attribute!r}.")
                location.sub_attribute, location.sub_field = found
        return location

    def container(self, location: Location, create: bool) -> dict[str, Any] | None:
        node = self.document
        for key in location.container_keys:
            child = node.get(key)
            if not isinstance(child, dict):
                if not create:
                    return None
                child = node[key] = {}
            node = child
        return node

    # -- operations --------------------------------------------------------

    def apply(self, operation: Operation) -> None:
        if operation.path is None:
            if operation.op == "remove":
                raise NoTarget(f"{operation.describe()}: remove needs a path.")
            if not isinstance(operation.value, Mapping):
                raise InvalidValue(f"{operation.describe()}: without a path, the value must be an object.")
            self.apply_pathless(operation)
            return
        location = self.resolve(operation.path, operation)
        self.apply_at(operation, location, operation.value, explicit=True)

    def apply_pathless(self, operation: Operation) -> None:
        for key, value in operation.value.items():
            key = str(key)
            urn = self.paths.extension(key)
            if urn is not None and isinstance(value, Mapping):
                for sub_key, sub_value in value.items():
                    self.apply_key(operation, f"{urn}:{sub_key}", sub_value)
            else:
                self.apply_key(operation, key, value)

    def apply_key(self, operation: Operation, key: str, value: Any) -> None:
        try:
            location = self.resolve(key, operation)
        except InvalidPath:
            return  # unknown attributes in a path-less value are ignored, as in POST and PUT
        if mutability_of(location.field) == READ_ONLY:
            return  # Okta sends the resource's own id and meta back: readOnly input is ignored
        self.apply_at(operation, location, value, explicit=False)

    def apply_at(self, operation: Operation, location: Location, value: Any, *, explicit: bool) -> None:
        attribute = location.field
        if mutability_of(attribute) == READ_ONLY or (
            location.sub_field is not None and mutability_of(location.sub_field) == READ_ONLY
        ):
            raise Mutability(f"{operation.describe()}: {location.name!r} is readOnly.")
        self.touched[location.touched] = operation
        if isinstance(attribute, RelatedResourcesAttribute):
            self.relation_change(operation, location, value)
            return
        container = self.container(location, create=operation.op != "remove")
        if container is None:
            return
        name = location.name
        if isinstance(attribute, serializers.ListSerializer):
            self.apply_multi_valued(operation, location, container, value)
        elif location.sub_attribute:
            if operation.op == "remove":
                if isinstance(container.get(name), dict):
                    container[name].pop(location.sub_attribute, None)
            else:
                current = container.get(name)
                if not isinstance(current, dict):
                    current = container[name] = {}
                current[location.sub_attribute] = canonical(value, location.sub_field)
        elif operation.op == "remove":
            container.pop(name, None)
        elif isinstance(attribute, serializers.Serializer) and isinstance(value, Mapping):
            current = container.get(name)
            merged = dict(current) if isinstance(current, dict) else {}
            merged.update(canonical(value, attribute))  # sub-attributes not given are left unchanged
            container[name] = merged
        else:
            container[name] = canonical(value, attribute)

    def apply_multi_valued(self, operation: Operation, location: Location, container: dict, value: Any) -> None:
        name, attribute = location.name, location.field
        current = container.get(name)
        items: list[Any] = (
            [dict(item) if isinstance(item, dict) else item for item in current] if isinstance(current, list) else []
        )
        if location.filter is None:
            if location.sub_attribute:
                raise InvalidPath(
                    f'{operation.describe()}: name the values with a filter, e.g. {name}[type eq "work"].'
                )
            given = value if isinstance(value, list) else [value]
            limit = scim_settings.MAX_ATTRIBUTE_VALUES
            if limit and len(given) > limit:
                raise TooMany(f"{operation.describe()}: at most {limit} values (MAX_ATTRIBUTE_VALUES).")
            self.charge(operation, max(1, len(items) + len(given)) * max(1, len(given)))
            new = canonical(given, attribute) if value is not None else []
            primaries = [item for item in new if isinstance(item, Mapping) and is_true(item.get("primary"))]
            if operation.op != "remove" and len(primaries) > 1:
                raise InvalidValue(f'{operation.describe()}: at most one value may have "primary": true.')
            if operation.op == "add":
                for item in new:
                    self.add_value(items, item)
            elif operation.op == "replace":
                items = []
                for item in new:
                    self.add_value(items, item)
            elif operation.has_value and value is not None:  # Entra: remove just the values listed
                case_exact = self.case_exactness(attribute)
                items = [item for item in items if not any(same_value(item, given, case_exact) for given in new)]
            else:
                items = []
        else:
            self.charge(operation, max(1, len(items)))
            child = sub_fields(attribute)
            case_exact = self.case_exactness(attribute)
            matching = [
                item for item in items if isinstance(item, dict) and matches(location.filter, item, child, case_exact)
            ]
            if operation.op == "remove":
                if location.sub_attribute:
                    for item in matching:
                        item.pop(location.sub_attribute, None)
                else:
                    items = [item for item in items if not any(item is m for m in matching)]
            else:
                if not matching:  # Entra: a filter that matches nothing creates the value it describes
                    if not is_equality_filter(location.filter):
                        raise NoTarget(f"{operation.describe()}: no value matches the filter.")
                    created = equality_terms(location.filter, child)
                    items.append(created)
                    matching = [created]
                for item in matching:
                    if location.sub_attribute:
                        item[location.sub_attribute] = canonical(value, location.sub_field)
                    elif isinstance(value, Mapping):
                        if operation.op == "replace":
                            preserved = {k: v for k, v in item.items() if k in equality_terms(location.filter, child)}
                            item.clear()
                            item.update(preserved)
                        item.update(canonical(value, attribute))
                    else:
                        raise InvalidValue(f"{operation.describe()}: the value must be an object.")
                    if is_true(item.get("primary")):
                        self.clear_other_primaries(items, item)
        container[name] = items

    def case_exactness(self, attribute: serializers.Field) -> dict[str, bool]:
        """Whether each sub-attribute compares case-exact (computed once per operation)."""
        return {name: attribute_of(name, sub).case_exact for name, sub in sub_fields(attribute).items()}

    def add_value(self, items: list[Any], item: Any) -> None:
        """Append ``item`` unless an equal value is there; a new primary value clears the others."""
        if item in items:
            return
        items.append(item)
        if isinstance(item, dict) and is_true(item.get("primary")):
            self.clear_other_primaries(items, item)

    @staticmethod
    def clear_other_primaries(items: list[Any], primary: dict) -> None:
        for other in items:
            if other is not primary and isinstance(other, dict) and is_true(other.get("primary")):
                other.pop("primary")

    def relation_change(self, operation: Operation, location: Location, value: Any) -> None:
        if location.sub_attribute:
            raise InvalidPath(f"{operation.describe()}: change {location.name!r} by value, not by sub-attribute.")
        attribute: RelatedResourcesAttribute = location.field
        if location.filter is not None:
            if operation.op != "remove":
                raise InvalidPath(f"{operation.describe()}: a [filter] on {location.name!r} only works with remove.")
            self.relations.append(RelationChange(operation, attribute, "remove_matching", filter=location.filter))
            return
        values = value if isinstance(value, list) else ([] if value is None else [value])
        values = [item if isinstance(item, Mapping) else {"value": item} for item in values]
        kind = operation.op
        if kind == "remove" and (not operation.has_value or value is None):
            kind = "clear"  # no value: remove every member; an empty list removes none
        self.relations.append(RelationChange(operation, attribute, kind, values=values))

    def blame(self, detail: Any) -> str:
        """Name the operation behind a validation error of the patched document."""
        lines = serializers.ValidationError(detail).detail
        names = list(lines.keys()) if isinstance(lines, dict) else []
        for name in names:
            if name in self.touched:
                return self.touched[name].describe()
        return "The patched resource"


def is_true(value: Any) -> bool:
    """A boolean as identity providers send it: true, or "True" in any case."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def same_value(item: Any, given: Any, case_exact: Mapping[str, bool]) -> bool:
    """Whether ``item`` is the value a remove names: every sub-attribute given is equal (and none is null)."""
    if not isinstance(item, Mapping) or not isinstance(given, Mapping):
        return item == given
    named = {key: value for key, value in given.items() if value is not None}
    return bool(named) and all(
        compare("eq", item.get(key), value, case_exact.get(key, True)) for key, value in named.items()
    )


def is_equality_filter(node: Node) -> bool:
    """``a eq x and b eq y``: a filter that describes one value, which a write may create."""
    if isinstance(node, And):
        return is_equality_filter(node.left) and is_equality_filter(node.right)
    return isinstance(node, Comparison) and node.operator == "eq" and not node.path.sub_attribute


def matches(
    node: Node, item: Mapping[str, Any], fields: Mapping[str, serializers.Field], case_exact: Mapping[str, bool]
) -> bool:
    """Evaluate a value filter on one value of a multi-valued attribute."""
    if isinstance(node, And):
        return matches(node.left, item, fields, case_exact) and matches(node.right, item, fields, case_exact)
    if isinstance(node, Or):
        return matches(node.left, item, fields, case_exact) or matches(node.right, item, fields, case_exact)
    if isinstance(node, Not):
        return not matches(node.operand, item, fields, case_exact)
    if isinstance(node, (Present, Comparison)):
        found = find_attribute(fields, node.path.attribute)
        if found is None or node.path.sub_attribute or node.path.schema:
            raise InvalidPath(f"Unknown sub-attribute {str(node.path)!r} in a value filter.")
        name = found[0]
        actual = item.get(name)
        if isinstance(node, Present):
            return actual not in (None, "", [], {})
        return compare(node.operator, actual, node.value, case_exact.get(name, True))
    raise InvalidPath("Unsupported value filter.")


def compare(operator: str, actual: Any, expected: Any, case_exact: bool) -> bool:
    if actual is None:
        return operator == "ne"
    if isinstance(actual, str) and isinstance(expected, str) and not case_exact:
        actual, expected = actual.casefold(), expected.casefold()
    if isinstance(expected, str) and isinstance(actual, bool):
        expected = expected.lower() == "true" if expected.lower() in ("true", "false") else expected
    try:
        return {
            "eq": lambda: actual == expected,
            "ne": lambda: actual != expected,
            "co": lambda: isinstance(actual, str) and isinstance(expected, str) and expected in actual,
            "sw": lambda: isinstance(actual, str) and isinstance(expected, str) and actual.startswith(expected),
            "ew": lambda: isinstance(actual, str) and isinstance(expected, str) and actual.endswith(expected),
            "gt": lambda: actual > expected,
            "ge": lambda: actual >= expected,
            "lt": lambda: actual < expected,
            "le": lambda: actual <= expected,
        }[operator]()
    except TypeError:
        return False


def equality_terms(node: Node, fields: Mapping[str, serializers.Field]) -> dict[str, Any]:
    """The ``sub eq value`` terms of a filter joined by ``and``: the value a filter describes."""
    if isinstance(node, And):
        return {**equality_terms(node.left, fields), **equality_terms(node.right, fields)}
    if isinstance(node, Comparison) and node.operator == "eq" and not node.path.sub_attribute:
        found = find_attribute(fields, node.path.attribute)
        return {found[0] if found else node.path.attribute: node.value}
    return {}


@dataclass
class PatchResult:
    """What applying a PatchOp produced: the document to validate and the relation deltas."""

    document: dict[str, Any]
    relations: list[RelationChange] = field(default_factory=list)
    engine: PatchEngine | None = None
    changed: frozenset[str] = frozenset()  # the attributes whose value the operations changed


def changed_attributes(before: Mapping[str, Any], after: Mapping[str, Any]) -> frozenset[str]:
    """The top-level attributes added, removed or given another value (of another JSON type included)."""
    names = before.keys() | after.keys()
    return frozenset(name for name in names if not same_json(before.get(name, _ABSENT), after.get(name, _ABSENT)))


_ABSENT = object()


def same_json(a: Any, b: Any) -> bool:
    """Equal JSON values of the same types: ``1`` is not ``true``, nor ``1.0``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(value, b[key]) for key, value in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_json, a, b))
    return a == b


def apply_operations(
    serializer: serializers.Serializer,
    document: dict[str, Any],
    operations: list[Operation],
    *,
    working: dict[str, Any] | None = None,
) -> PatchResult:
    """Apply every operation to a copy of ``document`` (``working``, an equal document nothing else holds,
    or else a deep copy); raise the first error, naming its operation."""
    engine = PatchEngine(serializer, copy.deepcopy(document) if working is None else working)
    for operation in operations:
        try:
            engine.apply(operation)
        except SCIMException:
            raise
        except (TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise InvalidValue(f"{operation.describe()}: {exc}") from None
    return PatchResult(engine.document, engine.relations, engine, changed_attributes(document, engine.document))
