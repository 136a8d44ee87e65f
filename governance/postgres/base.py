"""Django's PostgreSQL backend with a health check that needs no round trip.

``CONN_HEALTH_CHECKS`` keeps a persistent connection from failing the first request after the
database restarted or cut it. Django's check sends ``SELECT 1`` before the first query of
every request, a whole round trip: on a cached API read it was one of the request's two
queries and a fifth of its time (the benchmark in ``bench/`` measured it).

A connection that the server closed (restart, fast shutdown, a killed backend, an idle
timeout) always leaves something to read on the client's socket: the server's error message
or the end of the stream. An idle connection in good health has nothing to read. So the check
here first asks the socket, without waiting: nothing pending means usable; anything pending
falls back to Django's own ``SELECT 1``, which then decides (and reads the pending message).
"""

from __future__ import annotations

import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper


class DatabaseWrapper(PostgresDatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed:
            return False
        try:
            readable, _, _ = select.select([conn], [], [], 0)
        except (OSError, ValueError):  # the socket itself is gone
            return False
        if not readable:
            return True
        return super().is_usable()
