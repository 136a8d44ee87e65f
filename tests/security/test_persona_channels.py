"""Persona × channel: nobody sees a restricted value on any channel (quality.md, bar 29).

Every restricted value of the scenario is a unique marker string, so a leak anywhere in a
response is a substring. The scenario is the one the side roads broke on: a public CSO with a
leadership, a person in power with an appointment in a town, a tie between a public person and
that person, an interview source, a pending revision of the CSO, and the access levels and
publication states of all of them varied together. The variations are generated, not hand
picked: an all-pairs table (:func:`all_pairs`) over every dimension, so that each pair of
values of any two dimensions (a public leadership of a restricted person, a public appointment
of a restricted person, a partner-level tie with a restricted person, a draft person with a
published leadership, ...) meets in at least one row.

For each row, every persona (roles with a session and tokens with every scope that roles may
hold) reads every channel: pages (in two languages), API lists and details (JSON and CSV), the
browsable API with its forms, write responses, and the exports (Popolo, data package). A
marker the persona may not see (:func:`allowed_markers`, an oracle written from the policy, not
from the code) must not appear; research-level personas must see the markers of the API's
detail reads, so the test cannot pass by rendering nothing. The persona × channel pairs
covered are printed at the end of the module (``-s``) and listed in docs/security.md.
"""

from __future__ import annotations

import io
import itertools
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from csos.models import CSO, Character, CSOLeadership, LegalForm
from governance.models import ApiScope, FieldAccessLog, Source
from governance.redaction import Redacted, sensitive_fields
from governance.tokens import token_issue
from towns.models import Appointment, Person, Post, Tie, Town

pytestmark = pytest.mark.django_db

API = "/api/v1/"
LEVELS = ("public", "partner", "restricted")
RANK = {"public": 0, "partner": 1, "restricted": 2}

#: The dimensions of a scenario and their values (see the module docstring).
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "person_access": LEVELS,
    "person_state": ("published", "draft"),
    "names_access": LEVELS,
    "leadership_access": LEVELS,
    "leaders_access": LEVELS,
    "contacts_access": LEVELS,
    "appointment_access": LEVELS,
    "tie_access": LEVELS,
    "claims_state": ("published", "draft"),
}


def all_pairs(dimensions: dict[str, tuple[str, ...]]) -> list[dict[str, str]]:
    """Rows covering every pair of values of every two dimensions (greedy, deterministic)."""
    names = list(dimensions)
    uncovered = {
        (a, va, b, vb)
        for a, b in itertools.combinations(names, 2)
        for va in dimensions[a]
        for vb in dimensions[b]
    }
    candidates = [
        dict(zip(names, values, strict=True)) for values in itertools.product(*dimensions.values())
    ]
    pairs = list(itertools.combinations(names, 2))
    rows = []
    while uncovered:
        best = max(
            candidates,
            key=lambda row, todo=uncovered: sum((a, row[a], b, row[b]) in todo for a, b in pairs),
        )
        rows.append(best)
        uncovered -= {(a, best[a], b, best[b]) for a, b in pairs}
    return rows


SCENARIOS = all_pairs(DIMENSIONS)


# --- The personas: every role, and tokens with every scope a role may hold ---------------------


@dataclass(frozen=True)
class PersonaSpec:
    name: str
    role: str | None  # a group, "superuser", or None (anonymous / no role)
    level: int  # what it may see: 0 public, 1 partner, 2 research
    scopes: tuple[str, ...] = ()  # a token with these scopes; none: a session
    signed_in: bool = True

    @property
    def token(self) -> bool:
        return bool(self.scopes)

    @property
    def writes(self) -> bool:
        return (not self.token and self.level == 2) or any(
            s.startswith("write:") for s in self.scopes
        )


R, P = ApiScope.READ_RESTRICTED, ApiScope.READ_PARTNER
PERSONAS = (
    PersonaSpec("anonymous", None, 0, signed_in=False),
    PersonaSpec("outsider", None, 0),
    PersonaSpec("donor", "donor", 1),
    PersonaSpec("partner", "partner", 1),
    PersonaSpec("researcher", "researcher", 2),
    PersonaSpec("reviewer", "reviewer", 2),
    PersonaSpec("admin", "superuser", 2),
    PersonaSpec("outsider-token", None, 0, (ApiScope.READ_PUBLIC,)),
    PersonaSpec("donor-token", "donor", 1, (P,)),
    PersonaSpec("partner-token", "partner", 1, (P,)),
    PersonaSpec("partner-write-research", "partner", 1, (P, ApiScope.WRITE_RESEARCH)),
    PersonaSpec(
        "partner-write-indicators", "partner", 0, (ApiScope.READ_PUBLIC, ApiScope.WRITE_INDICATORS)
    ),
    PersonaSpec("researcher-public-token", "researcher", 0, (ApiScope.READ_PUBLIC,)),
    PersonaSpec("researcher-partner-token", "researcher", 1, (P,)),
    PersonaSpec("researcher-token", "researcher", 2, (R, ApiScope.WRITE_RESEARCH)),
    PersonaSpec("reviewer-token", "reviewer", 2, (R,)),
)


def build_client(spec: PersonaSpec, django_user_model) -> tuple[Client, object]:
    if not spec.signed_in:
        return Client(), None
    user = django_user_model.objects.create_user(
        username=f"pc-{spec.name}",
        password="a-long-persona-password-7",
        is_staff=spec.level == 2 or spec.role == "superuser",
        is_superuser=spec.role == "superuser",
    )
    if spec.role and spec.role != "superuser":
        user.groups.add(Group.objects.get(name=spec.role))
    if spec.token:
        _client, key = token_issue(user=user, name=spec.name, scopes=spec.scopes)
        return Client(HTTP_AUTHORIZATION=f"Token {key}"), user
    client = Client()
    client.force_login(user)
    return client, user


# --- The scenario: records with their levels, restricted values as markers ---------------------


def marker(kind: str) -> str:
    return f"MK{kind}{uuid.uuid4().hex[:10]}"


@dataclass
class Scenario:
    row: dict[str, str]
    town: Town
    cso: CSO
    person: Person
    appointment: Appointment
    tie: Tie
    source: Source
    markers: dict[str, str]  # what → marker


def build_scenario(row: dict[str, str], researcher) -> Scenario:
    m = {
        key: marker(key[:4].upper())
        for key in (
            "name_en",
            "name_be",
            "name_ru",
            "given_name",
            "family_name",
            "patronymic_name",
            "person_note",
            "contacts",
            "leader_role",
            "appointment_note",
            "tie_note",
            "interview_code",
            "pending_description",
        )
    }
    town = Town.objects.get(slug="pastavy")
    source = Source.objects.create(
        kind=Source.Kind.INTERVIEW,
        citation="Persona-channel interview",
        interview_code=m["interview_code"],
        access_level="public",
        state="published",
    )
    person = Person.objects.create(
        name_en=m["name_en"],
        name_be=m["name_be"],
        name_ru=m["name_ru"],
        given_name=m["given_name"],
        family_name=m["family_name"],
        patronymic_name=m["patronymic_name"],
        note=m["person_note"],
        access_level=row["person_access"],
        state=row["person_state"],
        names_access_level=row["names_access"],
    )
    public_person = Person.objects.create(
        name_en=f"Persona-channel public person {uuid.uuid4().hex[:6]}",
        access_level="public",
        state="published",
        names_access_level="public",
    )
    cso = CSO.objects.create(
        slug=f"pc-cso-{uuid.uuid4().hex[:8]}",
        name_en="Persona-channel CSO",
        legal_form=LegalForm.PUBLIC_ASSOCIATION,
        character=Character.INDEPENDENT,
        contacts=m["contacts"],
        contacts_access_level=row["contacts_access"],
        leaders_access_level=row["leaders_access"],
        access_level="public",
        state="published",
    )
    cso.towns.add(town)
    cso.sources.add(source)
    CSOLeadership.objects.create(
        cso=cso,
        person=person,
        role=m["leader_role"],
        access_level=row["leadership_access"],
        state=row["claims_state"],
    )
    post = Post.objects.filter(is_key=True).first()
    appointment = Appointment.objects.create(
        person=person,
        post=post,
        town=town,
        note=m["appointment_note"],
        access_level=row["appointment_access"],
        state=row["claims_state"],
    )
    appointment.sources.add(source)
    tie = Tie.objects.create(
        person_a=public_person,
        person_b=person,
        kind="colleagues",
        note=m["tie_note"],
        access_level=row["tie_access"],
        state=row["claims_state"],
    )
    tie.sources.add(source)
    # A pending revision: a researcher's change to the published CSO waits for a reviewer.
    client = Client()
    client.force_login(researcher)
    response = client.patch(
        f"{API}csos/{cso.slug}/",
        {"description": m["pending_description"]},
        content_type="application/json",
    )
    assert response.status_code < 300, response.content
    cso.refresh_from_db()
    assert m["pending_description"] not in cso.description  # proposed, not written
    return Scenario(row, town, cso, person, appointment, tie, source, m)


def visible(level: int, access: str, state: str = "published") -> bool:
    return level == 2 or (state == "published" and RANK[access] <= level)


def allowed_markers(s: Scenario, level: int) -> set[str]:
    """The markers a viewer at ``level`` may see: the policy, written down independently."""
    row, m = s.row, s.markers
    allowed = set()
    person = visible(level, row["person_access"], row["person_state"])
    if person and (level == 2 or RANK[row["names_access"]] <= level):
        allowed |= {m[k] for k in ("name_en", "name_be", "name_ru")}
        allowed |= {m[k] for k in ("given_name", "family_name", "patronymic_name")}
    if level == 2 or RANK[row["contacts_access"]] <= level:
        allowed.add(m["contacts"])
    leadership = visible(level, row["leadership_access"], row["claims_state"])
    if leadership and (level == 2 or RANK[row["leaders_access"]] <= level):
        allowed.add(m["leader_role"])
    if level == 2:  # notes and interview codes: research level only
        allowed |= {m[k] for k in ("person_note", "appointment_note", "tie_note", "interview_code")}
    return allowed


# --- The channels ------------------------------------------------------------------------------


def body_text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/zip") and content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content = b"\n".join(archive.read(name) for name in archive.namelist())
    return content.decode("utf-8", errors="replace")


def shared_channels(town: str, spec: PersonaSpec) -> dict[str, str]:
    """Channel name → URL of the channels that show every scenario at once (lists, exports,
    the town's pages)."""
    channels = {
        "api: persons list": f"{API}persons/?page_size=100&ordering=-id",
        "api: appointments list": f"{API}appointments/?town={town}&page_size=100",
        "api: ties list": f"{API}ties/?page_size=100&ordering=-id",
        "api: csos list": f"{API}csos/?search=Persona-channel&page_size=100",
        "api: sources list": f"{API}sources/?page_size=100&ordering=-id",
        "api: town profile": reverse("town-profile", kwargs={"version": "v1", "slug": town}),
        "csv: persons": f"{API}persons/?format=csv&page_size=100&ordering=-id",
        "csv: appointments": f"{API}appointments/?format=csv&town={town}&page_size=100",
        "csv: csos": f"{API}csos/?format=csv&search=Persona-channel&page_size=100",
        "export: popolo": f"{API}export/popolo.json",
        "export: data package": f"{API}export/datapackage.zip",
    }
    if not spec.token:
        channels |= {
            "page: cso directory": reverse("csos:list") + "?q=Persona-channel",
            "page: town": reverse("towns:detail", kwargs={"slug": town}),
            "page: town (ru)": "/ru" + reverse("towns:detail", kwargs={"slug": town}),
            "page: appointments csv": reverse(
                "towns:chart-csv", kwargs={"slug": town, "key": "appointments"}
            ),
            "page: network csv": reverse(
                "towns:chart-csv", kwargs={"slug": town, "key": "network"}
            ),
        }
    return channels


def record_channels(s: Scenario, spec: PersonaSpec) -> dict[str, str]:
    """Channel name → URL of the channels that show one scenario's records."""
    a, p, t, c = s.appointment.pk, s.person.pk, s.tie.pk, s.cso.slug
    channels = {
        "api: person detail": f"{API}persons/{p}/",
        "api: appointment detail": f"{API}appointments/{a}/",
        "api: tie detail": f"{API}ties/{t}/",
        "api: cso detail": f"{API}csos/{c}/",
        "api: source detail": f"{API}sources/{s.source.pk}/",
        "browsable: appointment": f"{API}appointments/{a}/?format=api",
        "browsable: cso": f"{API}csos/{c}/?format=api",
        "browsable: person": f"{API}persons/{p}/?format=api",
    }
    if not spec.token:
        channels |= {
            "page: cso": reverse("csos:detail", kwargs={"slug": c}),
            "page: cso (be)": "/be" + reverse("csos:detail", kwargs={"slug": c}),
        }
    return channels


def write_channels(s: Scenario, spec: PersonaSpec) -> dict[str, tuple[str, dict]]:
    """Channel name → (URL, PATCH body). Non-reviewers also try to open the CSO's contacts."""
    opening = {} if spec.role in ("reviewer", "superuser") else {"contacts_access_level": "public"}
    return {
        "write: appointment": (
            f"{API}appointments/{s.appointment.pk}/",
            {"recruited_from": "region"},
        ),
        "write: cso": (f"{API}csos/{s.cso.slug}/", {"founding_year": 2001, **opening}),
        "write: person": (f"{API}persons/{s.person.pk}/", {"origin": "region", **opening}),
    }


COVERED: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_coverage():
    yield
    personas = {p for p, _c in COVERED}
    channels = {c for _p, c in COVERED}
    print(  # noqa: T201 (the figures the issue asks for)
        f"\npersona x channel: {len(personas)} personas x {len(channels)} channels = "
        f"{len(COVERED)} pairs, {sum(COVERED.values())} checked responses over "
        f"{len(SCENARIOS)} generated scenarios"
    )


def test_the_table_covers_every_pair_of_values():
    rows = SCENARIOS
    for a, b in itertools.combinations(DIMENSIONS, 2):
        seen = {(r[a], r[b]) for r in rows}
        assert seen == set(itertools.product(DIMENSIONS[a], DIMENSIONS[b])), (a, b)
    # The cases the issue names are among them.
    assert any(
        r["leadership_access"] == "public"
        and r["claims_state"] == "published"
        and r["names_access"] == "restricted"
        for r in rows
    )
    assert any(
        r["appointment_access"] == "public" and r["person_access"] == "restricted" for r in rows
    )
    assert any(r["tie_access"] == "partner" and r["names_access"] == "restricted" for r in rows)
    assert len(rows) < 40  # pairs, not the full product of 13,122 rows


@pytest.fixture(scope="module")
def scenarios(django_db_setup, django_db_blocker):
    """Every generated scenario, side by side in one database state (kept for the module,
    removed at its end): each persona then reads each shared channel once for all of them."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        researcher = get_user_model().objects.create_user(
            username="pc-scenarios", password="a-long-persona-password-7"
        )
        researcher.groups.add(Group.objects.get(name="researcher"))
        built = [build_scenario(row, researcher) for row in SCENARIOS]
        try:
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def markers_of(scenarios: list[Scenario], level: int) -> tuple[set[str], dict[str, str]]:
    """(forbidden markers at ``level``, marker → what it is) over every scenario."""
    forbidden, names = set(), {}
    for i, s in enumerate(scenarios):
        names |= {v: f"s{i}.{k}" for k, v in s.markers.items()}
        forbidden |= set(s.markers.values()) - allowed_markers(s, level)
    return forbidden, names


@pytest.mark.parametrize("spec", PERSONAS, ids=[p.name for p in PERSONAS])
def test_no_restricted_value_on_any_channel(spec, scenarios, django_user_model):
    forbidden, names = markers_of(scenarios, spec.level)
    client, _user = build_client(spec, django_user_model)
    leaks, seen = [], set()

    def check(channel: str, response) -> None:
        assert response.status_code < 500, (channel, response.status_code)
        text = body_text(response)
        leaks.extend((channel, names[v]) for v in forbidden if v in text)
        seen.update(v for v in names if v in text)
        COVERED[(spec.name, channel)] += 1

    for channel, url in shared_channels(scenarios[0].town.slug, spec).items():
        check(channel, client.get(url))
    for s in scenarios:
        for channel, url in record_channels(s, spec).items():
            check(channel, client.get(url))
    if spec.writes:
        for s in scenarios:
            contacts_level = s.cso.contacts_access_level
            for channel, (url, data) in write_channels(s, spec).items():
                check(channel, client.patch(url, data, content_type="application/json"))
            s.cso.refresh_from_db()
            if spec.role not in ("reviewer", "superuser"):
                # Who may see the contacts is a reviewer's decision, never a writer's.
                assert s.cso.contacts_access_level == contacts_level, s.row
    assert not leaks, sorted(leaks)[:20]
    if spec.level == 2:
        # Research level sees every restricted value: the markers are really rendered, so an
        # absent marker elsewhere means redaction, not an empty response.
        expected = set().union(*(allowed_markers(s, 2) for s in scenarios))
        assert not expected - seen, sorted(names[v] for v in expected - seen)[:20]


# --- The access log, on every channel ----------------------------------------------------------


@pytest.fixture
def restricted_scenario(django_user_model):
    researcher = django_user_model.objects.create_user(username="pc-setup", password="x" * 16)
    researcher.groups.add(Group.objects.get(name="researcher"))
    row = {
        "person_access": "public",
        "person_state": "published",
        "names_access": "restricted",
        "leadership_access": "public",
        "leaders_access": "restricted",
        "contacts_access": "restricted",
        "appointment_access": "public",
        "tie_access": "partner",
        "claims_state": "published",
    }
    return build_scenario(row, researcher)


@pytest.mark.parametrize(
    "channel",
    ["popolo", "persons csv", "cso page", "town page", "browsable form", "cso api"],
)
def test_every_restricted_read_is_logged_without_values(
    restricted_scenario, django_user_model, channel
):
    s = restricted_scenario
    spec = PersonaSpec("researcher-token", "researcher", 2, (R, ApiScope.WRITE_RESEARCH))
    if channel in ("cso page", "town page"):
        spec = PersonaSpec("researcher", "researcher", 2)
    client, user = build_client(spec, django_user_model)
    url = {
        "popolo": f"{API}export/popolo.json",
        "persons csv": f"{API}persons/?format=csv&page_size=100&ordering=-id",
        "cso page": reverse("csos:detail", kwargs={"slug": s.cso.slug}),
        "town page": reverse("towns:detail", kwargs={"slug": s.town.slug}),
        "browsable form": f"{API}csos/{s.cso.slug}/?format=api",
        "cso api": f"{API}csos/{s.cso.slug}/",
    }[channel]
    response = client.get(url)
    assert response.status_code == 200
    rows = list(FieldAccessLog.objects.filter(user=user))
    logged = {(r.model, r.object_id): set(r.fields.split(",")) for r in rows}
    if channel in ("cso page", "browsable form", "cso api"):
        assert "contacts" in logged.get(("csos.cso", str(s.cso.pk)), set()), logged
    else:
        assert "name_en" in logged.get(("towns.person", str(s.person.pk)), set()), logged
    for r in rows:  # who, which record, which fields, when: never a value
        assert not any(v in f"{r.fields}|{r.path}|{r.object_id}" for v in s.markers.values())


def test_public_reads_leave_no_log(restricted_scenario):
    before = FieldAccessLog.objects.count()
    Client().get(f"{API}export/popolo.json")
    Client().get(reverse("csos:detail", kwargs={"slug": restricted_scenario.cso.slug}))
    assert FieldAccessLog.objects.count() == before


# --- Templates get redacted views, never model instances with sensitive fields -----------------


def sensitive_instances(value, depth=0):
    """Model instances with sensitive fields (or pointing at a person) inside ``value``."""
    if depth > 6 or isinstance(value, str | bytes | int | float | type(None) | Redacted):
        return []
    if isinstance(value, Model):
        model = value.__class__  # a lazy object (request.user) passes for its model
        related = [
            f
            for f in (*model._meta.concrete_fields, *model._meta.many_to_many)
            if f.is_relation and sensitive_fields(f.related_model)
        ]
        return [value] if sensitive_fields(model) or related else []
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, list | tuple | set):
        items = value
    elif hasattr(value, "object_list"):  # a page of a paginator
        items = value.object_list
    elif hasattr(value, "__dataclass_fields__"):
        items = [getattr(value, f) for f in value.__dataclass_fields__]
    else:
        return []
    return [found for item in items for found in sensitive_instances(item, depth + 1)]


@pytest.mark.parametrize("who", ["anonymous", "donor", "researcher"])
@pytest.mark.parametrize("page", ["cso", "cso directory", "town", "compare", "typology", "home"])
def test_page_templates_receive_only_redacted_records(
    restricted_scenario, django_user_model, settings, who, page
):
    """Issue 15: "templates receive redacted objects, not model instances". Every template of
    the atlas's own pages (csos/ and towns/, includes and template tags' results too) on every
    public page kind, for three viewers. Before, the town pages passed 82-91 instances
    (appointments, influences, indicators, sources, society records) to their templates."""
    settings.READ_CACHE_TIMEOUT = 0  # a cached page renders no template
    spec = next(p for p in PERSONAS if p.name == who)
    client, _user = build_client(spec, django_user_model)
    s = restricted_scenario
    other = Town.objects.exclude(pk=s.town.pk).order_by("slug").first()
    url = {
        "cso": reverse("csos:detail", kwargs={"slug": s.cso.slug}),
        "cso directory": reverse("csos:list") + "?q=Persona-channel",
        "town": reverse("towns:detail", kwargs={"slug": s.town.slug}),
        "compare": reverse("towns:compare") + f"?towns={s.town.slug},{other.slug}",
        "typology": reverse("towns:typology"),
        "home": reverse("towns:home") + "?indicator=population",
    }[page]
    response = client.get(url)
    assert response.status_code == 200
    checked = 0
    for template, context in zip(response.templates, response.context, strict=False):
        if not (template.name or "").startswith(("csos/", "towns/")):
            continue
        checked += 1
        flat = {}
        for layer in context.dicts:
            flat.update(layer)
        flat.pop("request", None)
        flat.pop("view", None)
        found = sensitive_instances(flat)
        assert not found, (template.name, found[:3])
    assert checked
