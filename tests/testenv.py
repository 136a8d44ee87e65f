"""Environment of the test run, loaded as a pytest plugin (``-p tests.testenv``) before Django.

Tests run with production settings (DEBUG off, manifest static files, secure cookies), except
that the test client speaks plain HTTP, so the HTTPS redirect is off. Values already set in the
environment win, so CI can point the suite at a DATABASE_URL.
"""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# The suite loads the demonstration research (synthetic data) under production settings.
os.environ.setdefault("ALLOW_SYNTHETIC_DATA", "true")
# One static folder per pytest-xdist worker: parallel collectstatic runs must not collide.
# (The controller process sets it first and its workers inherit it: a worker replaces an
# inherited automatic value with its own.)
_auto_static = os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test-static-")
if os.environ.get("STATIC_ROOT", _auto_static).startswith(_auto_static):
    os.environ["STATIC_ROOT"] = _auto_static + os.environ.get("PYTEST_XDIST_WORKER", "main")
# The read cache in each worker's memory: parallel workers must not clear each other's.
os.environ.setdefault("READ_CACHE_URL", "locmemcache://atlas-reads-test")
# Most tests sign staff in with force_login; the 2FA tests switch it on with override_settings.
os.environ.setdefault("STAFF_2FA_REQUIRED", "false")
