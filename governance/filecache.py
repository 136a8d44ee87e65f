"""The read cache's default backend on one machine: Django's file cache without its per-write cost.

Django's ``FileBasedCache`` lists its whole directory on every ``set`` to decide whether to
cull (measured in issue 19: with a few thousand entries that listing made a cache miss cost
more than no cache at all), and compresses every entry at zlib's default level. Here:

* the directory is counted on the first write of each process and then on every
  ``CHECK_EVERY``-th write (``MAX_ENTRIES // 50``, at least 1), so the bound holds up to that
  many entries per worker between two counts, after which Django's culling (a random third)
  runs as before;
* entries are compressed at zlib level 1 (about a fifth of the time of the default level for
  most of its ratio on JSON and HTML); reading is Django's own (``zlib.decompress`` reads any
  level), so entries written by either backend are read by both.

Everything else (file names, expiry, atomic rename, locking of ``touch``) is Django's.
"""

from __future__ import annotations

import itertools
import pickle
import zlib

from django.core.cache.backends.filebased import FileBasedCache

#: zlib level of stored entries (1: fastest).
COMPRESS_LEVEL = 1


class FileCache(FileBasedCache):
    def __init__(self, dir, params):
        super().__init__(dir, params)
        self.check_every = max(1, self._max_entries // 50)
        self._writes = itertools.count()  # next() is atomic under the GIL

    def _cull(self):
        if next(self._writes) % self.check_every == 0:
            super()._cull()

    def _write_content(self, file, timeout, value):
        expiry = self.get_backend_timeout(timeout)
        file.write(pickle.dumps(expiry, self.pickle_protocol))
        file.write(zlib.compress(pickle.dumps(value, self.pickle_protocol), COMPRESS_LEVEL))
