"""Logs and error reports carry no person names, tokens or passwords."""

from __future__ import annotations

import logging
import re
import traceback

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# A username is masked too: django-axes logs every login attempt with the name typed, which
# can be a person's name or a password typed into the wrong field.
_SECRETS = re.compile(
    r"(?i)(authorization|token|password|passwd|secret|sessionid|csrftoken|otp_token|username)"
    r"([\"']?\s*[:=]\s*)"
    # the value: quoted (whole, spaces and all), a scheme with its credential, or a bare word
    r"(\"[^\"]*\"|'[^']*'|(?:bearer|token|basic)\s+[^\s\"'&,;]+|[^\s\"'&,;]+)"
)


def scrub(text: str) -> str:
    return _SECRETS.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)


def _scrub_arg(value):
    # Only strings can carry a credential; numbers must stay numbers for %d formats.
    return scrub(value) if isinstance(value, str) else value


class RedactingFilter(logging.Filter):
    """Drop the request from log records (its body and headers may hold anything) and mask
    anything that looks like a credential in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, "request"):
            request = record.request
            record.request = None
            record.request_path = getattr(request, "path", "")
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if record.exc_info and record.exc_info[0] is not None:
            etype, _value, tb = record.exc_info
            # An exception's message can quote a row (an IntegrityError names the key) or a
            # credential: keep the type and the frames (no source lines), drop the message.
            frames = "".join(
                f'  File "{f.filename}", line {f.lineno}, in {f.name}\n'
                for f in traceback.extract_tb(tb)
            )
            record.exc_text = (
                f"Traceback (most recent call last):\n{frames}"
                f"{etype.__module__}.{etype.__qualname__}: [message withheld]"
            )
            record.exc_info = None
        if record.args:
            if isinstance(record.args, dict):
                record.args = {k: _scrub_arg(v) for k, v in record.args.items()}
            else:
                record.args = tuple(_scrub_arg(a) for a in record.args)
        return True


class AtlasExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports show no request data at all: POST bodies and query strings may carry
    names of people, and headers carry tokens."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|DATABASE", flags=re.I
    )

    def get_post_parameters(self, request):
        return {}

    def get_safe_request_meta(self, request):
        return {}


class AtlasExceptionReporter(ExceptionReporter):
    """Error reports carry neither the exception's message nor frame variables."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        data["exception_value"] = "[message withheld]"
        for frame in data.get("frames", []):
            frame["vars"] = []
            frame["pre_context"], frame["context_line"], frame["post_context"] = [], "", []
        # Nothing of the request either: bodies, query strings and cookies may hold anything.
        for key in list(data):
            if key.startswith("request_") or key in {"filtered_POST_items", "user_str"}:
                data[key] = [] if key.endswith("_items") else None
        data["request"] = None
        return data
