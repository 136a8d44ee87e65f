"""A row's representation, computed once per version of the row, not once per request.

A page of the town list is 50 towns of 22 fields each; Django REST Framework spends about 10
ms turning them into dicts (a field's ``get_attribute``, ``to_representation`` and the loop
around them, for each of the 1,100 values), most of a cold list request. What a plain
serializer gives for a row is a function of the row's own column values (and of the related
rows it names, e.g. a town's region and district slugs), of the active language and of the
time zone: :class:`MemoizedRowMixin` keeps it per process under exactly those, so an answer
can never be older than the row it shows (a changed row is a new key; there is nothing to
invalidate). The memo is bounded (:data:`MEMO_ROWS` rows, least recently used out first).
The JSON town list no longer comes here: PostgreSQL writes its rows
(:mod:`governance.api.rendered`); a town's detail, the CSV and GeoJSON pages and the browsable
API still do.

It is used only where a test holds every field of the serializer to the row and the related
rows named in ``memo_related`` (``tests/api/test_memoized_rows.py``): a field that reads
anything else (an annotation, a reverse relation, the request) would make the memo wrong, and
that test fails when such a field is added. A row loaded without one of its columns, or
without a related row named here, takes DRF's own path.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.utils import timezone
from django.utils.translation import get_language

#: Rows kept per process, per serializer (about 1 kB each for a town).
MEMO_ROWS = 4096

_MISSING = object()


def _frozen(value):
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


_COLUMNS: dict[type, tuple[str, ...]] = {}


def row_values(obj) -> tuple | None:
    """The values of ``obj``'s own columns, as loaded; None when one was not loaded. (A
    list or dict value makes the tuple unhashable: :func:`_frozen` it where it is used.)"""
    model = type(obj)
    names = _COLUMNS.get(model)
    if names is None:
        names = _COLUMNS[model] = tuple(f.attname for f in model._meta.concrete_fields)
    loaded = obj.__dict__
    try:
        return tuple([loaded[name] for name in names])
    except KeyError:
        return None


class MemoizedRowMixin:
    """For a ``ModelSerializer`` whose every field reads the row itself and the related rows
    named in ``memo_related`` (forward foreign keys, loaded with ``select_related``)."""

    memo_related: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._memo = OrderedDict()
        cls._memo_lock = threading.Lock()

    def _memo_key(self, instance) -> tuple | None:
        own = row_values(instance)
        if own is None:
            return None
        related = []
        for name in self.memo_related:
            cache = instance._state.fields_cache
            if name not in cache:
                return None
            other = cache[name]
            related.append(None if other is None else row_values(other))
            if other is not None and related[-1] is None:
                return None
        return (get_language(), timezone.get_current_timezone_name(), own, *related)

    def to_representation(self, instance):
        key = self._memo_key(instance)
        if key is None:
            return super().to_representation(instance)
        memo, lock = type(self)._memo, type(self)._memo_lock
        try:
            hash(key)
        except TypeError:  # a list or dict column
            key = _frozen(key)
        with lock:
            shown = memo.get(key)
            if shown is not None:
                memo.move_to_end(key)
                return shown.copy()  # a caller may add to its copy, never to the kept one
        shown = super().to_representation(instance)
        with lock:
            memo[key] = shown
            while len(memo) > MEMO_ROWS:
                memo.popitem(last=False)
        return shown.copy()
