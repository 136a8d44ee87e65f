"""Deny by default (quality 3, 8, 9): every URL pattern × every persona × GET and POST.

The sweep walks the root URLconf as it is when the test runs (includes, the i18n prefix, the
admin, every API router route), so a route added later is swept too. Each route must have an
entry in ``ROUTES`` (pages, API) or be an admin URL of a known kind (``ADMIN_ACTIONS``): an
unknown route fails the sweep until someone writes down who may see it.

Expected statuses per persona are explicit. ``LOGIN`` means a 302 to the admin login page.
POST is swept on every route without a CSRF token (session personas) or with the partner's
token: nothing may succeed unless listed in ``POST_ALLOWED``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import LocalePrefixPattern, RegexPattern

from csos.models import CSO
from governance.access import AccessLevel, PublicationState
from tests.personas import PERSONAS, Persona
from towns.models import District, Post, Region, Town

pytestmark = pytest.mark.django_db

LOGIN = "login"
NON_STAFF = ("anonymous", "donor", "partner", "outsider")
STAFF = ("researcher", "reviewer")


# ---------------------------------------------------------------------------------------------
# Walking the URLconf
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # normalised path, e.g. "csos/<slug>/", "api/<version>/towns/<slug>/"
    name: str | None  # "csos:detail", "admin:towns_town_change"
    callback: Callable

    @property
    def params(self) -> list[str]:
        return re.findall(r"<(\w+)>", self.key)


def _regex_to_key(regex: str) -> str:
    """``^towns/(?P<slug>[^/.]+)/$`` → ``towns/<slug>/`` (named groups become placeholders)."""
    regex = regex.removeprefix("^").removesuffix("$")
    out, i = [], 0
    while i < len(regex):
        if regex.startswith("(?P<", i):
            end = regex.index(">", i)
            name = regex[i + 4 : end]
            depth, j = 1, end + 1
            while depth:
                if regex[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(regex[j], 0)
                j += 1
            out.append(f"<{name}>")
            i = j
        else:
            out.append(regex[i].replace("\\", ""))
            i += 1
    return "".join(out)


def _part(pattern) -> str:
    if isinstance(pattern, LocalePrefixPattern):
        return ""  # the default language has no prefix (prefix_default_language=False)
    if isinstance(pattern, RegexPattern):
        return _regex_to_key(str(pattern))
    return re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", str(pattern))


def walk(resolver=None, prefix: str = "", namespace: str | None = None):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        key = prefix + _part(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry, key, entry.namespace or namespace)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield Route(key=key, name=name, callback=entry.callback)


def all_routes() -> list[Route]:
    return list(walk())


# ---------------------------------------------------------------------------------------------
# The allowlist: expected status per persona
# ---------------------------------------------------------------------------------------------


def every(status) -> dict[str, object]:
    return dict.fromkeys(PERSONAS, status)


def levels(*, public, partner, research) -> dict[str, object]:
    """Expected status by the viewer's level (outsider = public, partner = donor)."""
    return {
        "anonymous": public,
        "outsider": public,
        "donor": partner,
        "partner": partner,
        "researcher": research,
        "reviewer": research,
    }


@dataclass
class Case:
    label: str
    kwargs: Callable[[], dict]
    expect: dict[str, object]


def _cso_slug(*, state=PublicationState.PUBLISHED, level=AccessLevel.PUBLIC) -> str:
    cso = CSO.objects.filter(state=state, access_level=level, deleted_at__isnull=True).first()
    assert cso is not None, f"demo data has no CSO {state}/{level}"
    return cso.slug


def _deleted_cso_slug() -> str:
    """A published public CSO, soft-deleted for this test (rolled back after it)."""
    slug = _cso_slug()
    CSO.objects.filter(slug=slug).update(deleted_at="2024-01-01T00:00:00Z")
    return slug


def _region_slug() -> str:
    return Region.objects.order_by("code").first().slug


V1 = {"version": "v1"}
COMPARED = "towns=olshany,minsk"  # two towns: the comparison needs at least two

# Pages and API routes, by normalised key. A new route fails the sweep until it is listed here.
ROUTES: dict[str, list[Case] | Callable[[], list[Case]]] = {
    "healthz": [Case("up", dict, every(200))],
    "i18n/setlang/": [Case("GET redirects back", dict, every(302))],
    # The language switch is a GET with ?language=&next= (no state): none given is a 400.
    "language/": [Case("no language given", dict, every(400))],
    "": [Case("home", dict, every(200))],
    "towns/<slug>/": [
        Case("case town", lambda: {"slug": "olshany"}, every(200)),
        Case("unknown town", lambda: {"slug": "atlantis"}, every(404)),
    ],
    "csos/": [Case("directory", dict, every(200))],
    "csos/<slug>/": [
        Case("published public", lambda: {"slug": _cso_slug()}, every(200)),
        Case(
            "published partner",
            lambda: {"slug": _cso_slug(level=AccessLevel.PARTNER)},
            levels(public=404, partner=200, research=200),
        ),
        Case(
            "published restricted",
            lambda: {"slug": _cso_slug(level=AccessLevel.RESTRICTED)},
            levels(public=404, partner=404, research=200),
        ),
        Case(
            "draft",
            lambda: {
                "slug": CSO.objects.filter(state=PublicationState.DRAFT, deleted_at__isnull=True)
                .first()
                .slug
            },
            levels(public=404, partner=404, research=200),
        ),
        Case(
            "in review",
            lambda: {"slug": _cso_slug(state=PublicationState.IN_REVIEW, level="restricted")},
            levels(public=404, partner=404, research=200),
        ),
        Case("soft-deleted", lambda: {"slug": _deleted_cso_slug()}, every(404)),
        Case("unknown", lambda: {"slug": "no-such-cso"}, every(404)),
    ],
    # API: the root, schema and docs are public; place data is public.
    "api/<version>/": [Case("root", lambda: V1, every(200))],
    "api/<version>/schema/": [Case("schema", lambda: V1, every(200))],
    "api/<version>/docs/": [Case("docs", lambda: V1, every(200))],
    "api/<version>/regions/": [Case("list", lambda: V1, every(200))],
    "api/<version>/regions/<slug>/": [
        Case("region", lambda: {**V1, "slug": _region_slug()}, every(200)),
        Case("unknown", lambda: {**V1, "slug": "atlantis"}, every(404)),
    ],
    "api/<version>/towns/": [Case("list", lambda: V1, every(200))],
    "api/<version>/towns/<slug>/": [
        Case("town", lambda: {**V1, "slug": "olshany"}, every(200)),
        Case("unknown", lambda: {**V1, "slug": "atlantis"}, every(404)),
    ],
    "api/<version>/districts/": [Case("list", lambda: V1, every(200))],
    "api/<version>/districts/<slug>/": [
        Case("district", lambda: {**V1, "slug": _district_slug()}, every(200)),
        Case("unknown", lambda: {**V1, "slug": "atlantis"}, every(404)),
    ],
    # A town's indicators and profile are computed from what the viewer may see.
    "api/<version>/towns/<slug>/indicators/": [
        Case("case town", lambda: {**V1, "slug": "olshany"}, every(200))
    ],
    "api/<version>/towns/<slug>/profile/": [
        Case("case town", lambda: {**V1, "slug": "olshany"}, every(200))
    ],
    "api/<version>/towns.geojson": [Case("map", lambda: V1, every(200))],
    "api/<version>/export/popolo.json": [Case("export", lambda: V1, every(200))],
    "api/<version>/export/datapackage.zip": [Case("export", lambda: V1, every(200))],
    "api/<version>/indicators/": [Case("list", lambda: V1, every(200))],
    "api/<version>/indicators/<code>/": [
        Case("population", lambda: {**V1, "code": "population"}, every(200)),
        Case("unknown", lambda: {**V1, "code": "no-such-indicator"}, every(404)),
    ],
    # A write-only endpoint: a GET is refused for everybody.
    "api/<version>/indicator-values/bulk/": [
        Case("GET of a bulk write", lambda: V1, every({401, 403, 405}))
    ],
    # Research records: lists answer everybody with what they may see (test_leaks checks the
    # content); a detail is 404 for a record the viewer may not see.
    **{
        f"api/<version>/{segment}/": [Case("list", lambda: V1, every(200))]
        for segment in (
            "sources",
            "persons",
            "posts",
            "appointments",
            "influence-groups",
            "ties",
            "indicator-values",
            "activities",
            "csos",
            "cso-links",
            "cooperation-cases",
        )
    },
    "api/<version>/sources/<pk>/": lambda: record_cases("governance.Source"),
    "api/<version>/persons/<pk>/": lambda: record_cases("towns.Person"),
    "api/<version>/appointments/<pk>/": lambda: record_cases("towns.Appointment"),
    "api/<version>/influence-groups/<pk>/": lambda: record_cases("towns.InfluenceGroup"),
    "api/<version>/ties/<pk>/": lambda: record_cases("towns.Tie"),
    "api/<version>/indicator-values/<pk>/": lambda: record_cases("towns.IndicatorValue"),
    "api/<version>/activities/<pk>/": lambda: record_cases("towns.Activity"),
    # How power is implemented, society, ways of life, communication sites (towns/api/society.py).
    **{
        f"api/<version>/{segment}/": [Case("list", lambda: V1, every(200))]
        for segment in (
            "mechanism-kinds",
            "mechanisms",
            "society-observations",
            "self-organisation-events",
            "ways-of-life",
            "communication-sites",
        )
    },
    "api/<version>/mechanism-kinds/<code>/": [
        Case("kind", lambda: {**V1, "code": "appointments"}, every(200)),
        Case("unknown", lambda: {**V1, "code": "no-such-kind"}, every(404)),
    ],
    "api/<version>/mechanisms/<pk>/": lambda: record_cases("towns.ManagementMechanism"),
    "api/<version>/society-observations/<pk>/": lambda: record_cases("towns.SocietyObservation"),
    "api/<version>/self-organisation-events/<pk>/": lambda: record_cases(
        "towns.SelfOrganisationEvent"
    ),
    "api/<version>/ways-of-life/<pk>/": lambda: record_cases("towns.WayOfLife"),
    "api/<version>/communication-sites/<pk>/": lambda: record_cases("towns.CommunicationSite"),
    "api/<version>/csos/<slug>/": lambda: record_cases("csos.CSO", lookup="slug"),
    "api/<version>/cso-links/<pk>/": lambda: record_cases("csos.CSOLink"),
    "api/<version>/cooperation-cases/<pk>/": lambda: record_cases("csos.CooperationCase"),
    # Posts have no access level of their own: below research level they are seen through the
    # appointments one may see (Post.objects.visible_to); a publicly held post is public.
    "api/<version>/posts/<pk>/": [
        Case(
            "post",
            lambda: {**V1, "pk": Post.objects.visible_to(None).order_by("pk").first().pk},
            every(200),
        ),
        Case("unknown", lambda: {**V1, "pk": 0}, every(404)),
    ],
    # A writer's own revisions: for anyone signed in (their own only), never the anonymous.
    "api/<version>/my-revisions/": [
        Case("own revisions", lambda: V1, {**every(200), "anonymous": 401})
    ],
    "api/<version>/my-revisions/<pk>/": [
        Case("none of theirs", lambda: {**V1, "pk": 0}, {**every(404), "anonymous": 401})
    ],
    # Tombstones for incremental sync: open to all, each sees what left their own lists.
    "api/<version>/changes/": [
        Case("removals since", lambda: {**V1, "?": "since=2026-01-01T00:00:00Z"}, every(200)),
        Case("no time given", lambda: V1, every(400)),
    ],
    # Pages added with the comparison and typology views: public, built from visible records.
    "compare/": [Case("compare", dict, every(200))],
    "compare/data/<key>.csv": [
        Case("balance chart", lambda: {"key": "balance", "?": COMPARED}, every(200)),
        Case("no towns chosen", lambda: {"key": "balance"}, every(404)),
        Case("unknown chart", lambda: {"key": "no-such-chart", "?": COMPARED}, every(404)),
    ],
    "typology/": [Case("typology", dict, every(200))],
    # Signing in (governance/accounts.py): the forms are open to all; sign-out is a POST (a GET
    # shows its button); enrolment only follows a staff password check in the same session.
    "accounts/login/": [Case("sign-in form", dict, every(200))],
    "accounts/logout/": [Case("sign-out button", dict, every(200))],
    "accounts/authenticator/": [Case("no enrolment pending", dict, every(LOGIN))],
    # /en/... is the unprefixed page (a shared link from the other languages keeps working).
    "en/<rest>": [Case("english prefix", lambda: {"rest": "csos/"}, every(301))],
    # The documented problem types of the API's errors (RFC 9457), open to all.
    "api/problems/<slug>": [
        Case("documented type", lambda: {"slug": "validation"}, every(200)),
        Case("unknown type", lambda: {"slug": "no-such-problem"}, every(404)),
    ],
    # Review decisions are POSTs of staff: a GET changes nothing.
    "admin/governance/revision/<object_id>/approve/": [
        Case("GET approve", lambda: {"object_id": 0}, {**every(LOGIN), **dict.fromkeys(STAFF, 405)})
    ],
    "admin/governance/revision/<object_id>/send-back/": [
        Case(
            "GET send back", lambda: {"object_id": 0}, {**every(LOGIN), **dict.fromkeys(STAFF, 405)}
        )
    ],
    "admin/governance/revision/<object_id>/withdraw/": [
        Case(
            "GET withdraw", lambda: {"object_id": 0}, {**every(LOGIN), **dict.fromkeys(STAFF, 405)}
        )
    ],
    # The town workspace (researchers and reviewers) and the reviewers' queue and town review.
    "admin/towns/town/<object_id>/workspace/": [
        Case(
            "workspace",
            lambda: {"object_id": Town.objects.get(slug="olshany").pk},
            {**every(LOGIN), **dict.fromkeys(STAFF, 200)},
        )
    ],
    "admin/towns/town/<object_id>/workspace/submit/": [
        Case(
            "GET submit (POST only)",
            lambda: {"object_id": Town.objects.get(slug="olshany").pk},
            {**every(LOGIN), **dict.fromkeys(STAFF, 403)},
        )
    ],
    "admin/towns/town/review-queue/": [
        Case("queue", dict, {**every(LOGIN), "researcher": 403, "reviewer": 200})
    ],
    "admin/towns/town/<object_id>/review/": [
        Case(
            "town review",
            lambda: {"object_id": Town.objects.get(slug="olshany").pk},
            {**every(LOGIN), "researcher": 403, "reviewer": 200},
        )
    ],
    "towns/<slug>/data/<key>.csv": [
        Case("balance chart", lambda: {"slug": "olshany", "key": "balance"}, every(200)),
        Case("unknown chart", lambda: {"slug": "olshany", "key": "no-such-chart"}, every(404)),
    ],
}


def _district_slug() -> str:
    return District.objects.order_by("pk").first().slug


def record_cases(label: str, *, lookup: str = "pk") -> list[Case]:
    """One case per kind of record the demo data holds: published at each level, draft,
    soft-deleted, unknown. Each hidden kind must answer 404 (never 403)."""
    model = apps.get_model(label)
    param = "slug" if lookup == "slug" else "pk"
    rows = model.objects.filter(deleted_at__isnull=True).order_by("pk")
    if label == "csos.CSOLink":
        # A link is shown only when both its CSOs are visible too: sample such links.
        rows = rows.filter(
            source_cso__in=CSO.objects.visible_to(None), target_cso__in=CSO.objects.visible_to(None)
        )
    kinds = [
        ("published public", {"state": "published", "access_level": "public"}, 200, 200),
        ("published partner", {"state": "published", "access_level": "partner"}, 404, 200),
        ("published restricted", {"state": "published", "access_level": "restricted"}, 404, 404),
        ("draft", {"state": "draft"}, 404, 404),
        ("in review", {"state": "in_review"}, 404, 404),
    ]
    cases = []
    for label_, filters, public, partner in kinds:
        row = rows.filter(**filters).first()
        if row is None:
            continue
        value = getattr(row, lookup)
        cases.append(
            Case(
                label_,
                lambda value=value: {**V1, param: value},
                levels(public=public, partner=partner, research=200),
            )
        )
    first = rows.first()
    if first is not None:
        first_value = getattr(first, lookup)

        def deleted(pk=first.pk, value=first_value):
            model.objects.filter(pk=pk).update(deleted_at="2024-01-01T00:00:00Z")
            return {**V1, param: value}

        cases.append(Case("soft-deleted", deleted, every(404)))
    unknown = "no-such-record" if lookup == "slug" else 0
    cases.append(Case("unknown", lambda: {**V1, param: unknown}, every(404)))
    return cases


# POST without a CSRF token (sessions) or with the partner token: refused everywhere. A route
# that accepts a write (e.g. a partner write scope) must be listed here with its statuses.
REFUSED = {401, 403, 404, 405}
POST_ALLOWED: dict[str, dict[str, object]] = {}

# Admin URLs by kind. Non-staff personas are sent to the login page from every one of them.
ADMIN_ACTIONS = {
    "changelist",
    "add",
    "change",
    "history",
    "delete",
    "import",
    "process_import",
    "export",
    "config",  # django-otp TOTP device configuration
    "qrcode",  # django-otp TOTP device QR code
    "password_change",  # a user's password form (auth.User)
    "purged",  # soft-deleted records of a model, for restore or purge
    "restore_version",  # restore a version from the history (pghistory event)
}
ADMIN_SITE_VIEWS = {
    "admin:index": 200,
    "admin:app_list": 200,
    "admin:jsi18n": 200,
    "admin:password_change": 200,
    "admin:password_change_done": 200,
    "admin:autocomplete": 403,  # without its parameters the view refuses
    "admin:view_on_site": 302,  # to the object's page, which applies its own policy
}


# ---------------------------------------------------------------------------------------------
# Expectations for the admin, derived from the ModelAdmin of each model URL
# ---------------------------------------------------------------------------------------------


def _model_admin_for(route: Route):
    match = re.match(r"admin/(\w+)/(\w+)/", route.key)
    if not match:
        return None
    for model, model_admin in admin.site._registry.items():
        if (model._meta.app_label, model._meta.model_name) == match.groups():
            return model_admin
    return None


def _admin_action(route: Route, model_admin) -> str | None:
    if route.name is None:
        # "<object_id>/" without a name: the old-style URL that redirects to the change view.
        return "redirect" if route.key.endswith("<object_id>/") else None
    prefix = f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_"
    action = route.name.removeprefix(prefix)
    return action if action in ADMIN_ACTIONS else None


def _staff_expectation(route: Route, model_admin, action: str, user, obj):
    request = RequestFactory().get("/admin/")
    request.user = user
    if action == "redirect":
        return 302
    if action == "password_change":
        return 200 if model_admin.has_change_permission(request, obj) else 403
    if action == "purged":
        return 200 if model_admin.has_view_or_change_permission(request) else 403
    if action == "restore_version":
        return 405  # restoring is a POST (from the history page); a GET changes nothing
    if action == "process_import":
        return {403, 405} if not model_admin.has_import_permission(request) else 405
    if action == "history" and obj is None:
        return 302  # the history view looks the object up first: unknown → back to the index
    if action == "change" and obj is None and model_admin.opts.label == "governance.Revision":
        # The review page of a change (governance/admin_revisions.py) answers an unknown or
        # another researcher's revision with the same 404: no signal that it exists.
        return 404
    if action == "change" and obj is None:
        # The change view checks the permission first (403), then the object (index).
        return 302 if model_admin.has_view_or_change_permission(request) else 403
    allowed = {
        "changelist": lambda: model_admin.has_view_or_change_permission(request),
        "add": lambda: model_admin.has_add_permission(request),
        "change": lambda: model_admin.has_view_or_change_permission(request, obj),
        "history": lambda: model_admin.has_view_or_change_permission(request, obj),
        "delete": lambda: model_admin.has_delete_permission(request, obj),
        "import": lambda: model_admin.has_import_permission(request),
        "export": lambda: model_admin.has_export_permission(request),
        "config": lambda: model_admin.has_view_or_change_permission(request, obj),
        "qrcode": lambda: model_admin.has_view_or_change_permission(request, obj),
    }[action]()
    if not allowed:
        return 403
    return 200


def admin_cases(route: Route, personas: dict[str, Persona]) -> list[Case] | None:
    """The cases of an admin URL, or None when the URL is of an unknown kind."""
    if route.name == "admin:login":
        return [Case("login form", dict, {**every(200), "researcher": 302, "reviewer": 302})]
    if route.name == "admin:logout":
        # admin_view sends a viewer without admin access to the index (then to the login).
        return [
            Case(
                "GET refused (POST only)",
                dict,
                {**every(302), "researcher": 405, "reviewer": 405},
            )
        ]
    if route.name in ADMIN_SITE_VIEWS:
        kwargs = {
            "admin:app_list": lambda: {"app_label": "towns"},
            "admin:view_on_site": lambda: {
                "content_type_id": ContentType.objects.get_for_model(CSO).pk,
                "object_id": CSO.objects.first().pk,
            },
        }.get(route.name, dict)
        staff = ADMIN_SITE_VIEWS[route.name]
        return [Case(route.name, kwargs, {**every(LOGIN), "researcher": staff, "reviewer": staff})]
    if route.key == "admin/<url>":
        return [
            Case(
                "catch-all",
                lambda: {"url": "no-such-page/"},
                {**every(LOGIN), "researcher": 404, "reviewer": 404},
            )
        ]
    model_admin = _model_admin_for(route)
    if model_admin is None:
        return None
    action = _admin_action(route, model_admin)
    if action is None:
        return None
    obj = model_admin.model._default_manager.order_by("pk").first()
    if obj is None and model_admin.opts.label == "otp_totp.TOTPDevice":
        # django-otp's config/qrcode views answer an unknown id with a 500: sample a real one.
        obj = model_admin.model.objects.create(user=personas["reviewer"].user, name="sweep")
    object_id = obj.pk if obj is not None else 0
    expect = every(LOGIN)
    for name in STAFF:
        expect[name] = _staff_expectation(route, model_admin, action, personas[name].user, obj)
    return [
        Case(
            f"{action} of {model_admin.opts.label}",
            lambda: {"object_id": object_id, "pk": object_id, "id": object_id, "event_id": 0},
            expect,
        )
    ]


# ---------------------------------------------------------------------------------------------
# Running a case
# ---------------------------------------------------------------------------------------------


def build_url(route: Route, kwargs: dict) -> str:
    missing = [p for p in route.params if p not in kwargs]
    assert not missing, f"{route.key}: no sample value for {missing}"
    url = "/" + route.key
    for name in route.params:
        url = url.replace(f"<{name}>", str(kwargs[name]), 1)
    match = resolve(url)
    if kwargs.get("?"):
        url += "?" + kwargs["?"]
    assert match.func is route.callback, f"{url} resolves to {match.view_name}, not {route.name}"
    return url


def outcome_ok(response, expected) -> bool:
    if expected == LOGIN:
        return response.status_code == 302 and response["Location"].startswith("/admin/login/")
    if isinstance(expected, int):
        return response.status_code == expected
    return response.status_code in expected


def cases_for(route: Route, personas) -> list[Case] | None:
    if route.key in ROUTES:
        cases = ROUTES[route.key]
        return cases() if callable(cases) else cases
    if route.key.startswith("admin/"):
        return admin_cases(route, personas)
    return None


def clients_for(persona: Persona, route: Route):
    """The session client, and for the API also the partner's token client."""
    yield "session", persona.client
    if persona.token and route.key.startswith("api/"):
        yield "token", persona.api_client()


def sweep(personas, persona_name: str, method: str) -> tuple[list[str], int]:
    persona = personas[persona_name]
    failures, requests = [], 0
    # One CSRF-checked session for the whole sweep: a refused POST changes nothing in it, and
    # a login per request (a session row, the login signals) was most of the sweep's time.
    csrf_client = persona.csrf_client() if method == "POST" else None
    for route in all_routes():
        cases = cases_for(route, personas)
        if cases is None:
            failures.append(
                f"UNLISTED route {route.key!r} ({route.name}): add it to ROUTES with the "
                "expected status of every persona"
            )
            continue
        for case in cases:
            try:
                url = build_url(route, case.kwargs())
            except AssertionError as exc:
                failures.append(f"{route.key} [{case.label}]: {exc}")
                continue
            for via, client in clients_for(persona, route):
                try:
                    if method == "GET":
                        expected = case.expect[persona_name]
                        response = client.get(url)
                    else:
                        expected = POST_ALLOWED.get(route.key, {}).get(persona_name, REFUSED)
                        if via == "session":
                            client = csrf_client
                        response = client.post(url, {}, content_type="application/json")
                except Exception as exc:  # a 500: recorded, and the sweep goes on
                    failures.append(
                        f"{method} {url} [{case.label}] as {persona_name} via {via}: "
                        f"raised {type(exc).__name__}: {exc}"
                    )
                    continue
                requests += 1
                if not outcome_ok(response, expected):
                    where = response.get("Location", "")
                    failures.append(
                        f"{method} {url} [{case.label}] as {persona_name} via {via}: "
                        f"{response.status_code} {where} (expected {expected})"
                    )
    return failures, requests


@pytest.mark.parametrize("persona_name", PERSONAS)
def test_get_sweep_matches_allowlist(personas, persona_name):
    failures, requests = sweep(personas, persona_name, "GET")
    assert requests > 100, "the sweep found too few routes: is the URLconf walked?"
    assert not failures, f"{len(failures)} of {requests} requests off the allowlist:\n" + "\n".join(
        failures
    )


@pytest.mark.parametrize("persona_name", PERSONAS)
def test_post_without_csrf_or_scope_is_refused_everywhere(personas, persona_name):
    failures, requests = sweep(personas, persona_name, "POST")
    assert not failures, f"{len(failures)} of {requests} POSTs not refused:\n" + "\n".join(failures)


def test_sweep_sees_every_kind_of_route():
    """The walker reaches pages, the i18n prefix, the admin and the API router."""
    keys = {route.key for route in all_routes()}
    assert {"", "csos/", "csos/<slug>/", "towns/<slug>/", "admin/", "admin/login/"} <= keys
    assert "api/<version>/towns/<slug>/" in keys
    assert any(key.startswith("admin/towns/person/") for key in keys)


def test_allowlist_has_no_stale_entry():
    """Every listed route still exists (a renamed route must not keep an old, looser entry)."""
    keys = {route.key for route in all_routes()}
    assert set(ROUTES) - keys == set()
    assert set(POST_ALLOWED) - keys == set()


def test_unknown_route_is_closed_by_default(personas):
    """A route nobody listed makes the sweep fail (closed by default)."""
    ghost = Route(key="api/<version>/ghosts/", name="ghost-list", callback=lambda r: None)
    assert cases_for(ghost, personas) is None
    ghost_admin = Route(
        key="admin/towns/town/<object_id>/leak/", name="admin:towns_town_leak", callback=None
    )
    assert cases_for(ghost_admin, personas) is None


def test_regex_keys_are_normalised():
    assert _regex_to_key(r"^towns/(?P<slug>[^/.]+)/$") == "towns/<slug>/"
    assert _regex_to_key(r"^api/(?P<version>v1)/") == "api/<version>/"
    assert _regex_to_key(r"^(?P<app_label>towns|csos)/$") == "<app_label>/"
