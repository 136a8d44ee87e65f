"""python manage.py generate_scale_data: a reproducible synthetic dataset for the benchmark.

Rows go in with PostgreSQL ``COPY`` in one transaction (a failed or interrupted run leaves
nothing). History: the row triggers of pghistory are silenced for the transaction and the
events they would have written are written set-based afterwards — one ``insert`` event per
generated row (``link.add`` for many-to-many rows), all under one pghistory context whose
metadata says ``via="scale_data"`` — so the audit trail stays complete without paying for
2.4 million trigger calls. ``--replace`` writes a ``delete`` event per removed row the same
way. Why per-row events rather than one event for the batch: every other write path leaves
an insert event per row, and history views and restores rely on finding one; set-based
they cost seconds. See :mod:`csos.scale` for the whole design.

Reference size (the default): ``--towns 2000 --indicators 60 --years 20 --csos 20000``
(2.4 million indicator values, 60,000 CSO links, 20,000 persons).
"""

import time

from django.core.management.base import BaseCommand, CommandError

from csos.scale import ScaleError, generate, remove


class Command(BaseCommand):
    help = (
        "Generate seeded synthetic towns, indicator values, persons, influence, appointments, "
        "CSOs and links (every row marked synthetic) with COPY in one transaction. "
        "Reference size: --towns 2000 --indicators 60 --years 20 --csos 20000."
    )

    def add_arguments(self, parser):
        parser.add_argument("--towns", type=int, default=2000)
        parser.add_argument("--indicators", type=int, default=60)
        parser.add_argument("--years", type=int, default=20)
        parser.add_argument("--csos", type=int, default=20000)
        parser.add_argument("--links", type=int, default=None, help="default: 3 per CSO")
        parser.add_argument("--persons", type=int, default=None, help="default: 10 per town")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--replace",
            action="store_true",
            help="remove an earlier scale dataset first (only the rows it generated)",
        )
        parser.add_argument(
            "--remove",
            action="store_true",
            help="only remove an earlier scale dataset, generate nothing",
        )

    def handle(self, *args, **o):
        start = time.perf_counter()
        if o["remove"]:
            removed = remove()
            self.stdout.write(self.style.SUCCESS(f"Removed {removed:,} scale rows."))
            return
        try:
            report = generate(
                towns=o["towns"],
                indicators=o["indicators"],
                years=o["years"],
                csos=o["csos"],
                links=o["links"],
                persons=o["persons"],
                seed=o["seed"],
                replace=o["replace"],
                progress=lambda line: self.stdout.write(line),
            )
        except ScaleError as exc:
            raise CommandError(str(exc)) from exc
        total = sum(
            c for name, c in report.counts.items() if name not in {"remove previous", "analyze"}
        )
        seconds = time.perf_counter() - start
        self.stdout.write(
            self.style.SUCCESS(f"Scale data generated: {total:,} rows written in {seconds:.1f} s.")
        )
