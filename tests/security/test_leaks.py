"""Nothing leaks to the public or to donors (quality 4, 5): every page and API list they can
reach is searched for every string they may not see, taken from the demo data in the database.

Forbidden for a viewer: names of every person whose names are above the viewer's level (or who
is hidden), every interview code, contacts of CSOs whose contacts are above the viewer's level,
titles of hidden records (draft, in review, above the level, deleted) and every free-text note.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import sys
import zipfile

import pytest
from django.apps import apps
from django.urls import reverse

from csos.models import CSO
from governance.access import LEVELS_FOR, AccessLevel, PublicationState, viewer_level
from governance.models import ResearchRecord, Source
from governance.redaction import NOTE_FIELDS
from tests.security.test_url_sweep import all_routes
from towns.demo.research import case_towns
from towns.models import Person

pytestmark = pytest.mark.django_db

TITLE_FIELDS = ("name_en", "name_be", "name_ru", "title", "citation")
MIN_LENGTH = 8  # shorter strings (a town name, "A") would match innocent text


def research_models():
    return [
        m
        for m in apps.get_models()
        if issubclass(m, ResearchRecord) and not m._meta.abstract and not m._meta.proxy
    ]


def forbidden_strings(user) -> dict[str, str]:
    """Every string ``user`` may not see, with why (for the failure message)."""
    allowed_levels = LEVELS_FOR[viewer_level(user)]
    forbidden: dict[str, str] = {}
    shown: set[str] = set()

    visible_people = set(Person.objects.visible_to(user).values_list("pk", flat=True))
    for person in Person.objects.all():
        names = [person.name_en, person.name_be, person.name_ru]
        if person.pk in visible_people and person.names_access_level in allowed_levels:
            shown.update(names)
        else:
            for name in names:
                forbidden[name] = f"name of person {person.pk} ({person.names_access_level})"

    for code in Source.objects.exclude(interview_code="").values_list("interview_code", flat=True):
        forbidden[code] = "interview code"

    visible_csos = set(CSO.objects.visible_to(user).values_list("pk", flat=True))
    for cso in CSO.objects.all():
        if cso.pk in visible_csos and cso.contacts_access_level in allowed_levels:
            shown.add(cso.contacts)
        else:
            forbidden[cso.contacts] = f"contacts of CSO {cso.slug}"

    for model in research_models():
        fields = {f.name for f in model._meta.get_fields()}
        titles = [f for f in TITLE_FIELDS if f in fields]
        visible = set(model.objects.visible_to(user).values_list("pk", flat=True))
        for row in model.objects.all():
            values = [getattr(row, f) for f in titles]
            if row.pk in visible:
                shown.update(values)
            else:
                for value in values:
                    forbidden.setdefault(value, f"title of hidden {model._meta.label} {row.pk}")
            for note in NOTE_FIELDS:
                text = getattr(row, note, "") if note in fields else ""
                if isinstance(text, str) and len(text) >= 20:
                    forbidden.setdefault(text, f"note of {model._meta.label} {row.pk}")
    return {
        s: why
        for s, why in forbidden.items()
        if isinstance(s, str) and len(s.strip()) >= MIN_LENGTH and s not in shown
    }


def body_text(response) -> str:
    content_type = response.get("Content-Type", "")
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    if "zip" in content_type:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
            )
    text = raw.decode("utf-8", "replace")
    if "json" in content_type:
        # The same text with JSON escapes resolved (non-ASCII may be escaped).
        with contextlib.suppress(ValueError):
            text += "\n" + json.dumps(json.loads(text), ensure_ascii=False)
    return text


def find_leaks(text: str, forbidden: dict[str, str]) -> list[str]:
    return [
        f"{why}: {value!r}"
        for value, why in forbidden.items()
        if value in text or html.escape(value) in text
    ]


def reachable_urls(user) -> list[str]:
    """Pages and API reads a viewer reaches: home, the case towns, the CSO directory and every
    CSO the viewer may see, every parameter-free page and API list (all pages of it)."""
    urls = ["/", "/csos/", "/csos/?page=2"]
    for town in case_towns().values():
        urls.append(reverse("towns:detail", kwargs={"slug": town.slug}))
    for cso in CSO.objects.visible_to(user):
        urls.append(reverse("csos:detail", kwargs={"slug": cso.slug}))
    for route in all_routes():
        if route.key.startswith("admin/") or route.key in {"i18n/setlang/", "healthz"}:
            continue
        params = set(route.params)
        if params == set():
            urls.append("/" + route.key)
        elif params == {"version"}:
            url = "/" + route.key.replace("<version>", "v1")
            urls.append(url + ("?page_size=500" if url.endswith("/") else ""))
        elif params == {"version", "slug"} and route.key.startswith("api/<version>/towns/"):
            for town in case_towns().values():
                urls.append("/" + route.key.replace("<version>", "v1").replace("<slug>", town.slug))
        elif params == {"version", "slug"} and route.key.startswith("api/<version>/csos/"):
            for cso in CSO.objects.visible_to(user):
                urls.append("/" + route.key.replace("<version>", "v1").replace("<slug>", cso.slug))
    return list(dict.fromkeys(urls))


@pytest.mark.parametrize("persona_name", ["anonymous", "donor"])
def test_no_forbidden_string_on_any_reachable_page_or_api_read(personas, persona_name):
    persona = personas[persona_name]
    forbidden = forbidden_strings(persona.user)
    assert forbidden, "the demo data holds no restricted string: the test would prove nothing"
    assert any(why == "interview code" for why in forbidden.values())
    assert any(why.startswith("name of person") for why in forbidden.values())
    leaks, fetched = [], 0
    for url in reachable_urls(persona.user):
        response = persona.client.get(url)
        if response.status_code != 200:
            continue
        fetched += 1
        leaks += [f"{url}: {leak}" for leak in find_leaks(body_text(response), forbidden)]
    assert fetched >= 20, f"only {fetched} pages answered 200"
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(leaks[:80])


def _walk_json(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk_json(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_json(value)


@pytest.mark.parametrize("persona_name", ["anonymous", "donor"])
def test_api_has_no_key_for_a_field_above_the_viewer(personas, persona_name):
    """Restricted fields are absent (no key at all), not null and not "hidden"."""
    persona = personas[persona_name]
    user_level = LEVELS_FOR[viewer_level(persona.user)]
    hidden_cso = {
        slug: {
            *(["contacts"] if c_level not in user_level else []),
            *(["leaders", "leaderships"] if l_level not in user_level else []),
        }
        for slug, c_level, l_level in CSO.objects.values_list(
            "slug", "contacts_access_level", "leaders_access_level"
        )
    }
    problems = []
    for url in reachable_urls(persona.user):
        if not url.startswith("/api/"):
            continue
        response = persona.client.get(url)
        if response.status_code != 200 or "json" not in response.get("Content-Type", ""):
            continue
        for node in _walk_json(response.json()):
            if "interview_code" in node:
                problems.append(f"{url}: key 'interview_code' present")
            # Researchers' notes on a record (Popolo's other_names carry a "note" of their own:
            # "name in be", not a record, so only nodes that are records are checked).
            if {"id", "slug", "url"} & set(node):
                problems += [f"{url}: key {k!r} present" for k in NOTE_FIELDS if k in node]
            slug = node.get("slug")
            if isinstance(slug, str) and slug in hidden_cso:
                problems += [f"{url}: CSO {slug} has {k!r}" for k in hidden_cso[slug] if k in node]
    assert not problems, "\n".join(problems[:50])


@pytest.mark.parametrize(
    ("filters", "label"),
    [
        ({"state": PublicationState.DRAFT}, "draft"),
        ({"state": PublicationState.IN_REVIEW}, "in review"),
        ({"state": PublicationState.PUBLISHED, "access_level": AccessLevel.RESTRICTED}, "restr."),
    ],
)
def test_hidden_cso_is_404_not_403(personas, filters, label):
    cso = CSO.objects.filter(**filters).first()
    assert cso is not None, f"demo data needs a {label} CSO"
    url = reverse("csos:detail", kwargs={"slug": cso.slug})
    for name in ("anonymous", "donor", "outsider"):
        assert personas[name].client.get(url).status_code == 404, name
    assert personas["researcher"].client.get(url).status_code == 200


def test_deleted_cso_is_404_for_everybody_and_absent_from_the_directory(personas):
    cso = CSO.objects.visible_to(None).first()
    CSO.objects.filter(pk=cso.pk).update(deleted_at="2024-01-01T00:00:00Z")
    url = reverse("csos:detail", kwargs={"slug": cso.slug})
    for persona in personas.values():
        assert persona.client.get(url).status_code == 404, persona.name
        listed = persona.client.get("/csos/", {"q": cso.name_en}).context["page"]
        assert cso.slug not in {c.slug for c in listed.paginator.object_list}, persona.name


# ---------------------------------------------------------------------------------------------
# Errors never leak (quality 19): this module doubles as a URLconf with views that fail.
# ---------------------------------------------------------------------------------------------

SECRET_NAME = "Fictional Person Z. Leakmore"
SECRET_TOKEN = "tok-3f9a7c1e5b2d4f60a8c9e1b7d3f5a2c4"
SECRET_PASSWORD = "hunter2-but-longer-pw"


def _failing_view(request, **kwargs):
    # What a real failure can carry: an IntegrityError DETAIL names the row, a bad call
    # echoes its arguments.
    raise RuntimeError(
        f"duplicate key (name_en)=({SECRET_NAME}) token={SECRET_TOKEN} password={SECRET_PASSWORD}"
    )


from django.urls import path as _path  # noqa: E402 (the URLconf part of this module)

from governance import urls as _root_urls  # noqa: E402

urlpatterns = [
    _path("boom/", _failing_view),
    _path("api/v1/boom/", _failing_view),
    *_root_urls.urlpatterns,
]
handler500 = _root_urls.handler500


def _redacting_handlers():
    import logging

    from governance.logging import RedactingFilter

    return [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactingFilter) for f in h.filters)
    ]


@pytest.fixture
def captured_log():
    """The output of the configured (redacting) log handler while the test runs."""
    handlers = _redacting_handlers()
    assert handlers, "LOGGING has no handler with governance.logging.RedactingFilter"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


def _assert_clean(text: str, where: str, *, response: bool = True):
    """No secret; and a response shows no stack trace either (a log may keep the frames)."""
    markers = ("Traceback", "RuntimeError") if response else ()
    for secret in (SECRET_NAME, SECRET_TOKEN, SECRET_PASSWORD, *markers):
        assert secret not in text, f"{where} carries {secret!r}:\n{text[:2000]}"


@pytest.mark.urls("tests.security.test_leaks")
def test_500_page_is_generic_and_the_log_is_clean(captured_log):
    from django.test import Client

    client = Client(raise_request_exception=False)
    response = client.get("/boom/", HTTP_AUTHORIZATION=f"Token {SECRET_TOKEN}")
    assert response.status_code == 500
    assert "html" in response["Content-Type"]
    _assert_clean(response.content.decode(), "500 page")
    log = captured_log.getvalue()
    assert "/boom/" in log, "the failure was not logged at all"
    _assert_clean(log, "log", response=False)


@pytest.mark.urls("tests.security.test_leaks")
def test_500_under_api_is_generic_json_and_the_log_is_clean(captured_log):
    from django.test import Client

    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/boom/")
    assert response.status_code == 500
    # An RFC 9457 problem (issue 18): the fixed members only, nothing from the failure.
    assert response["Content-Type"].startswith("application/problem+json")
    assert set(response.json()) == {"type", "title", "status", "detail", "code"}
    _assert_clean(response.content.decode(), "API 500")
    _assert_clean(captured_log.getvalue(), "log", response=False)


def test_login_attempts_are_logged_without_the_name_typed(captured_log):
    """django-axes logs each login attempt with the username typed: a person's name, or a
    password typed into the wrong field, must not reach the log."""
    from django.test import Client

    typed = "Fictional Typed Secret 9z"
    response = Client().post("/accounts/login/", {"username": typed, "password": "wrong-pw-1"})
    assert response.status_code in (200, 403, 429)
    log = captured_log.getvalue()
    assert "login failure" in log.lower(), "the attempt was not logged at all"
    assert typed not in log and "Fictional" not in log, log[:2000]


# Module constants, so that no secret sits in the source lines the report quotes around frames.
POSTED = {"password": "posted-password-5b1c9e", "name": "Fictional Posted Name Q."}
HEADER_TOKEN = "header-tok-77aa"


def _exc_info_of(view, request):
    try:
        view(request)
    except RuntimeError:
        return sys.exc_info()
    raise AssertionError("the view did not fail")


def test_exception_reports_carry_no_request_data_or_secrets():
    """The error report (mailed to admins) shows no POST data, no headers, and not the
    exception's message, which can name a person or echo a credential."""
    from django.test import RequestFactory
    from django.views.debug import get_exception_reporter_class

    request = RequestFactory().post("/boom/", POSTED, HTTP_AUTHORIZATION=f"Token {HEADER_TOKEN}")
    # The reporter Django uses for mails and logs: settings.DEFAULT_EXCEPTION_REPORTER.
    reporter_class = get_exception_reporter_class(request)
    reporter = reporter_class(request, *_exc_info_of(_failing_view, request))
    for report in (reporter.get_traceback_text(), reporter.get_traceback_html()):
        for secret in (*POSTED.values(), HEADER_TOKEN):
            assert secret not in report, f"request data {secret!r} in the error report"
        for secret in (SECRET_NAME, SECRET_TOKEN, SECRET_PASSWORD):
            assert secret not in report, f"exception message carries {secret!r} into the report"


@pytest.mark.parametrize(
    ("line", "kept_out"),
    [
        ('AXES: login failure by {username: "Fictional Person Q", ip: "1"}', "Person Q"),
        ("Authorization: Token tok-abc123 sent", "tok-abc123"),
        ("Authorization: Bearer tok-abc123", "tok-abc123"),
        ('{"password": "two words"}', "two words"),
        ("/?token=tok-abc123&page=2", "tok-abc123"),
    ],
)
def test_a_log_line_loses_every_credential_and_typed_name(line, kept_out):
    """A quoted value is masked whole (spaces and all), and a scheme with its credential."""
    from governance.logging import scrub

    assert kept_out not in scrub(line)
    assert "[redacted]" in scrub(line)
