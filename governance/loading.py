"""What every app's demo loader shares: a report of what was created, updated or left alone."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: str, model: str) -> None:
        store = getattr(self, bucket)
        store[model] = store.get(model, 0) + 1

    def lines(self) -> list[str]:
        models = sorted({*self.created, *self.updated, *self.unchanged})
        return [
            f"{m}: {self.created.get(m, 0)} created, {self.updated.get(m, 0)} updated, "
            f"{self.unchanged.get(m, 0)} unchanged"
            for m in models
        ]


def sync(model, lookup: dict, owned: dict, on_create: dict, report: LoadReport):
    """Create with ``owned`` + ``on_create``; later runs refresh only the ``owned`` fields.

    Fields in ``on_create`` belong to researchers after the first load and are never overwritten.
    """
    obj = model.objects.filter(**lookup).first()
    label = str(model._meta.verbose_name_plural)
    if obj is None:
        obj = model(**lookup, **owned, **on_create)
        obj.full_clean()
        obj.save()
        report.count("created", label)
        return obj
    changed = [k for k, v in owned.items() if _differs(getattr(obj, k), v)]
    if changed:
        for k in changed:
            setattr(obj, k, owned[k])
        obj.full_clean()
        obj.save()
        report.count("updated", label)
    else:
        report.count("unchanged", label)
    return obj


def _differs(current, new) -> bool:
    if hasattr(current, "pk") and hasattr(new, "pk"):
        return current.pk != new.pk
    return str(current) != str(new)
