"""gunicorn settings for production serving (make serve). Every value from the environment."""

import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM workers finish their requests for up to this long before they are stopped.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "0"))
preload_app = False
# Several gunicorn masters (instances) may listen on the same host:port: with SO_REUSEPORT the
# kernel spreads new connections over them, so an instance can be restarted or added behind one
# address without a balancer in front (docs/deploy.md, docs/scaling.md). Off by default: a
# second server started by mistake on a taken port then fails instead of sharing it.
_reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "").strip().lower()
if _reuse_port not in ("", "0", "false", "no", "off", "1", "true", "yes", "on"):
    raise ValueError(f"GUNICORN_REUSE_PORT must be true or false, got {_reuse_port!r}")
reuse_port = _reuse_port in ("1", "true", "yes", "on")
accesslog = "-"
errorlog = "-"
# Structured request logs without personal data: no query string (it may hold names or a
# token), no client address, no user agent, no referrer.
access_log_format = (
    '{"time":"%(t)s","method":"%(m)s","path":"%(U)s","status":%(s)s,'
    '"bytes":%(B)s,"duration_ms":%(M)s}'
)
