"""The fast path: what drf_scim builds once per process and reuses for every request that shares it.

Serving a SCIM request the DRF way builds, every time, things that cost more than the request's SQL:
a resource's few dozen nested fields, its queryset (joins, the references subquery), the translator
that turns filters into ``Q`` objects, and the SQL of reads that differ by a value. This package holds
all of that behind one interface:

- a **resource plan** (:class:`~drf_scim.plans.queries.ResourcePlan`) per viewset, serializer, tenant
  and projection (``SCIMGenericViewSet.get_plan_key()``): its querysets, prepared reads by id, first pages
  of a filter shape, pages of keys, and filter translators;
- a **field plan** (:class:`~drf_scim.plans.fields.FieldPlan`) per serializer fields key
  (``get_fields_cache_key()``): its built fields, the fields that fetch related rows, the multi-valued
  attributes it indexes, and the nested attributes every serializer may render with one shared copy.

Both are kept in bounded caches (least recently used first out) that :func:`clear` empties, on
``setting_changed`` among others. The fast path is on unless ``DRF_SCIM["FAST_PATH"]`` is False or a
viewset declares ``fast_path = False``; an override of a hook a plan caches turns it off for that class
unless the override is marked :func:`cacheable` (``drf_scim.W001`` says where).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import suppress
from typing import Any, Generic, TypeVar

from django.core.signals import setting_changed

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class BoundedCache(Generic[T]):
    """A mapping that keeps at most ``size`` entries and forgets the least recently used one first.

    What the keys hold may come from clients (a projection, a filter's shape): a full cache forgets
    one entry, never the others.
    """

    def __init__(self, size: int, *, process_wide: bool = True) -> None:
        self.size = size
        self.entries: OrderedDict[Hashable, T] = OrderedDict()
        if process_wide:  # emptied by clear(); a plan's own caches go with the plan
            CACHES.append(self)

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """The entry at ``key``, built by ``build()`` on first use.

        Safe in threaded workers without a lock: each step is one operation of the dict, and an entry
        another thread forgets meanwhile is simply not moved (two threads may both build one entry).
        """
        entries = self.entries
        try:
            value = entries[key]
        except KeyError:
            value = build()
            entries[key] = value
            while len(entries) > self.size:
                try:
                    entries.popitem(last=False)
                except KeyError:  # emptied by another thread
                    break
            return value
        with suppress(KeyError):  # forgotten by another thread since it was read
            entries.move_to_end(key)
        return value

    def __len__(self) -> int:
        return len(self.entries)

    def clear(self) -> None:
        self.entries.clear()


CACHES: list[BoundedCache[Any]] = []


def clear(**kwargs: Any) -> None:
    """Forget every plan: after a settings change, or a serializer or viewset class altered at run time."""
    for cache in CACHES:
        cache.clear()


setting_changed.connect(clear, dispatch_uid="drf_scim_plans_clear")


def cacheable(method: F) -> F:
    """Mark an override of a hook a plan caches (``get_base_queryset``, ``get_fields``...) as depending on
    nothing but what the plan's key holds: the resource type, the tenant and the projection (or what an
    overridden ``get_plan_key()`` / ``get_fields_cache_key()`` adds). The class keeps the fast path."""
    method.drf_scim_cacheable = True
    return method


def uncacheable_overrides(cls: type, hooks: tuple[str, ...]) -> list[str]:
    """The ``hooks`` of ``cls`` whose implementation is not marked :func:`cacheable`."""
    return [name for name in hooks if not getattr(getattr(cls, name, None), "drf_scim_cacheable", False)]


def enabled() -> bool:
    """``DRF_SCIM["FAST_PATH"]``."""
    from ..settings import scim_settings

    return bool(scim_settings.FAST_PATH)
