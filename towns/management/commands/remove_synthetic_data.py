"""Remove every synthetic (demonstration) record when a team goes live with real research.

Deletes each record marked ``is_synthetic`` (generated indicator values, invented people,
groups, claims, CSOs, cases, sources, generated towns) in one transaction. The history stays:
the pghistory triggers write a delete event with the full row for every record removed, under
the context ``remove_synthetic_data``, so the admin's history can still show what was there.
Afterwards the stored typology and share of "our own" of every town are recomputed from the
real claims that remain, and real claims left without any source are listed (a claim without
a source cannot stay published: a researcher must cite one).
"""

from __future__ import annotations

import pghistory
from django.core.management.base import BaseCommand
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from towns.context_processors import synthetic_models


class Command(BaseCommand):
    help = "Delete every synthetic record (history kept) and recompute the towns' aggregates."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be removed; change nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        models = synthetic_models()
        counts = {
            model._meta.label: model._base_manager.filter(is_synthetic=True).count()
            for model in models
        }
        for label, n in counts.items():
            if n:
                self.stdout.write(f"{label}: {n} synthetic")
        if dry_run:
            self.stdout.write("Dry run: nothing removed.")
            return
        with transaction.atomic(), pghistory.context(command="remove_synthetic_data"):
            removed = self._delete_all(models)
            self._refresh_towns()
        for label, n in removed.items():
            if n:
                self.stdout.write(f"{label}: {n} removed")
        for line in self._unsourced():
            self.stdout.write(self.style.WARNING(line))
        self.stdout.write(self.style.SUCCESS("Synthetic data removed (history kept)."))

    def _delete_all(self, models) -> dict[str, int]:
        """Delete in rounds: a protected reference (e.g. a synthetic group still named by a
        synthetic claim) waits for the records that reference it to go first."""
        removed = {model._meta.label: 0 for model in models}
        pending = list(models)
        while pending:
            progress, blocked = False, []
            for model in pending:
                qs = model._base_manager.filter(is_synthetic=True)
                if not qs.exists():
                    continue
                try:
                    with transaction.atomic():
                        _total, per_model = qs.delete()
                except (ProtectedError, IntegrityError):
                    blocked.append(model)
                    continue
                progress = True
                removed[model._meta.label] += per_model.get(model._meta.label, 0)
            if blocked and not progress:
                names = ", ".join(m._meta.label for m in blocked)
                raise RuntimeError(
                    f"Real records still refer to synthetic ones in: {names}. Reassign them "
                    "(the admin shows which) and run the command again."
                )
            pending = blocked
        return removed

    def _refresh_towns(self) -> None:
        from towns.models import Town
        from towns.services import town_profile_refresh

        for town in Town.objects.exclude(typology="insufficient_evidence", own_share=None):
            town_profile_refresh(town=town)

    def _unsourced(self) -> list[str]:
        from governance.access import PublicationState

        lines = []
        for model in synthetic_models():
            if not hasattr(model, "sources") or not hasattr(model, "state"):
                continue
            n = model._base_manager.filter(
                state=PublicationState.PUBLISHED, sources__isnull=True, deleted_at__isnull=True
            ).count()
            if n:
                lines.append(
                    f"{model._meta.label}: {n} published without any source left: cite one."
                )
        return lines
