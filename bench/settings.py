"""Settings of the benchmark: the production settings plus exactly two additions.

1. ``ROOT_URLCONF`` is :mod:`bench.urls`: the project's URLs plus the json_agg peer views.
2. :class:`bench.middleware.QueryCountMiddleware` (outermost) reports the SQL queries of each
   request in the ``X-Bench-Queries`` response header.

Nothing else differs: the benchmark must measure what production serves.
"""

from governance.settings import *  # noqa: F403
from governance.settings import MIDDLEWARE

ROOT_URLCONF = "bench.urls"
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
