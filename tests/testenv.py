"""Environment of the test run, loaded as a pytest plugin (``-p tests.testenv``) before Django.

Tests run with production settings (DEBUG off, manifest static files, secure cookies), except
that the test client speaks plain HTTP, so the HTTPS redirect is off. Values already set in the
environment win, so CI can point the suite at a DATABASE_URL.
"""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# One static folder per pytest-xdist worker: parallel collectstatic runs must not collide.
os.environ.setdefault(
    "STATIC_ROOT",
    os.path.join(
        os.path.dirname(os.path.dirname(__file__)),
        "var",
        "test-static-" + os.environ.get("PYTEST_XDIST_WORKER", "main"),
    ),
)
# Most tests sign staff in with force_login; the 2FA tests switch it on with override_settings.
os.environ.setdefault("STAFF_2FA_REQUIRED", "false")
