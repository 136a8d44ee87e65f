"""schemathesis's command line, with ``ast.parse`` run by one thread at a time.

CPython 3.11 keeps the AST constructor's recursion depth in state that every thread shares
(python/cpython#106905): two threads parsing at once can make it raise a spurious
``SystemError: AST constructor recursion depth mismatch``. schemathesis runs ``--workers 2``
threads, and hypothesis parses the source of the filters it describes (``ast.parse`` in
``hypothesis.internal.lambda_sources``), so a fuzz run once stopped on that error, with every
generated case passed (2026-12-06, partner-writer, ``GET /api/v1/appointments/``). Serialising
``ast.parse`` removes the race; nothing else changes: the checks, the cases and the exit code
are schemathesis's own. ``.ci/fuzz_api.py`` runs schemathesis through this file.
"""

import ast
import sys
import threading

from schemathesis.cli import schemathesis

_PARSE = ast.parse
_ONE_AT_A_TIME = threading.Lock()


def parse(*args, **kwargs):
    with _ONE_AT_A_TIME:
        return _PARSE(*args, **kwargs)


if __name__ == "__main__":
    ast.parse = parse
    sys.argv[0] = "schemathesis"
    sys.exit(schemathesis())
