"""Fill the kept town profiles, dashboards and map and keep them current (towns/kept.py, issue
19).

``manage.py keep_profiles --once`` computes every missing or out-of-date row (every town's
profile at the public and partner levels in the API's language, its dashboard's two parts at
the public level in the default language, and the public's whole map, first: one row that a
partner's map or GIS tool downloads) and exits; ``--kind`` limits it to some kinds (e.g.
``dashboard,indicators``); ``--jobs N`` splits the towns over N processes. Without
``--once`` it runs beside the app for good: every ``--interval`` seconds it looks for rows
whose town's data state moved (two queries) and computes them again, a ``--batch`` of towns
at a time so that a write in another town waits little. One keeper works
per database (a PostgreSQL advisory lock): a second one waits, and takes over when the first
stops. It gives way to the web workers: it runs at the lowest CPU priority (``--nice``, 19)
and computes at most a ``--share`` of the time (0.25: after a town that took 80 ms it waits
240 ms), since PostgreSQL's work for it runs at full priority. Measured under back-to-back
100-town batches with the keeper at nice 10 and no share, every read scenario lost a third of
its throughput to it. A reader who comes before the keeper computes the profile itself, which
is never wrong, only slower.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections, router
from django.utils import timezone

from governance.cache import code_version
from towns import kept
from towns.models import KeptProfile

#: pg_try_advisory_lock key of the keeper ("keep" in ASCII).
LOCK = 0x6B656570


def _part(text: str) -> tuple[int, int]:
    try:
        index, parts = (int(n) for n in text.split("/"))
    except ValueError:
        raise CommandError("--part is i/n, e.g. 0/2") from None
    if not 0 <= index < parts:
        raise CommandError("--part i/n needs 0 <= i < n")
    return index, parts


class Command(BaseCommand):
    help = "Compute the kept town profiles that are missing or out of date (towns/kept.py)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument(
            "--jobs", type=int, default=1, help="With --once: processes side by side (1)."
        )
        parser.add_argument("--part", default="0/1", help="Only towns whose id is i modulo n.")
        parser.add_argument(
            "--kind",
            default="all",
            help=(
                "Only these kinds, comma-separated: "
                + ", ".join([*(kind.name for kind in kept.KINDS), "map"])
                + " (all)."
            ),
        )
        parser.add_argument(
            "--interval", type=float, default=2.0, help="Seconds between looks (2)."
        )
        parser.add_argument(
            "--batch", type=int, default=50, help="Towns computed between two looks (50)."
        )
        parser.add_argument(
            "--nice", type=int, default=None, help="CPU niceness (default 19; 0 with --once)."
        )
        parser.add_argument(
            "--share",
            type=float,
            default=None,
            help="At most this share of the time computing (default 0.25; 1 with --once).",
        )

    def handle(self, *args, once, jobs, part, kind, interval, batch, nice, share, **options):
        if not kept.enabled():
            raise CommandError("KEPT_PROFILES is off: nothing is kept.")
        if jobs < 1 or batch < 1 or interval <= 0:
            raise CommandError("--jobs and --batch must be at least 1, --interval above 0.")
        self.share = share if share is not None else (1.0 if once else 0.25)
        if not 0 < self.share <= 1:
            raise CommandError("--share is above 0 and at most 1.")
        os.nice(nice if nice is not None else (0 if once else 19))
        self.kind = kind
        chosen = set(kind.split(","))
        known = {"all", "map", *(k.name for k in kept.KINDS)}
        if not chosen <= known:
            raise CommandError(f"--kind: unknown {', '.join(sorted(chosen - known))}")
        self.kinds = [k for k in kept.KINDS if chosen & {"all", k.name}]
        self.map = bool(chosen & {"all", "map"})
        if once and jobs > 1:
            return self._jobs(jobs)
        index, parts = _part(part)
        if once:
            started = time.monotonic()
            written = self._pass((index, parts), limit=None)
            self.stdout.write(
                f"kept profiles: {written} rows computed in {time.monotonic() - started:.1f} s"
            )
            return
        self._loop((index, parts), interval=interval, batch=batch)

    def _jobs(self, jobs: int) -> None:
        started = time.monotonic()
        children = [
            subprocess.Popen(  # noqa: S603 (this very command, with fixed arguments)
                [
                    sys.executable,
                    str(settings.BASE_DIR / "manage.py"),
                    "keep_profiles",
                    "--once",
                    f"--part={i}/{jobs}",
                    f"--kind={self.kind}",
                ]
            )
            for i in range(jobs)
        ]
        failed = [child.args for child in children if child.wait() != 0]
        if failed:
            raise CommandError(f"a keeper failed: {failed}")
        self.stdout.write(
            f"kept profiles: {jobs} processes done in {time.monotonic() - started:.1f} s"
        )

    def _pass(self, part: tuple[int, int], *, limit: int | None) -> int:
        # The whole map first (one row, ~20 ms at the scale data, what a partner's map or a
        # GIS tool downloads), by the first of keepers side by side.
        written = int(self.map and part[0] == 0 and kept.refresh_map())
        entries = kept.stale(part=part, kinds=self.kinds) if self.kinds else []
        if limit is not None:
            # The first towns in the order of :func:`kept.stale` (the profiles before the
            # dashboards), each with all its rows of that kind: ``limit`` profiles' worth
            # (a dashboard costs about five), so a profile made stale meanwhile waits for a
            # pass of about the same length whichever kind it is.
            groups = list(dict.fromkeys((e.kind, e.town_id) for e in entries))
            if groups:
                limit = max(1, limit // groups[0][0].cost)
            chosen = set(groups[:limit])
            entries = [entry for entry in entries if (entry.kind, entry.town_id) in chosen]

        shown = [0.0]

        def progress(written: int, seconds: float) -> None:
            if seconds - shown[0] >= 15 or written == len(entries):
                shown[0] = seconds
                self.stdout.write(f"  {written}/{len(entries)} rows, {seconds:.0f} s")

        return written + kept.refresh(
            entries, progress=progress if limit is None else None, share=self.share
        )

    @staticmethod
    def _fingerprint(using: str) -> tuple:
        """Every committed write, the day and the release: what a kept row depends on."""
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT atlas_data_state()")
            (state,) = cursor.fetchone()
        return state, timezone.localdate(), code_version()

    def _loop(self, part: tuple[int, int], *, interval: float, batch: int) -> None:
        using = router.db_for_write(KeptProfile) or "default"
        holding = False
        idle = None
        while True:
            try:
                if not holding:
                    with connections[using].cursor() as cursor:
                        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK + part[0]])
                        (holding,) = cursor.fetchone()
                    if not holding:
                        time.sleep(interval)
                        continue
                    self.stdout.write("keeping the town profiles current")
                # Nothing committed since a pass that found nothing to do: no row can have
                # moved (every write counts in the fingerprint, a restore changes its
                # identity), so the towns are not looked at again (one query instead of two
                # over every town: ~0.1 ms against ~100 ms at 2,261 towns).
                seen = self._fingerprint(using)
                if seen == idle:
                    time.sleep(interval)
                    continue
                written = self._pass(part, limit=batch)
                if written:
                    self.stdout.write(f"kept profiles: {written} rows computed again")
                    idle = None
                    continue
                idle = seen
            except DatabaseError as error:
                # The database restarted, is being restored or migrated: the lock went with
                # the connection; look again later.
                self.stderr.write(f"keep_profiles: {type(error).__name__}: {error}".strip())
                holding = False
                idle = None
                connections[using].close()
            # The connection is kept open between looks: it holds the advisory lock.
            time.sleep(interval)
