"""API tokens: named, scoped, expiring, revocable, stored hashed, header only (quality 10, 15)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from governance.access import Viewer
from governance.api.permissions import HasScope, has_write_scope, token_scopes
from governance.models import ApiClient
from governance.tokens import scope_read_level, token_issue, token_revoke, token_viewer_level
from towns.models import Person

pytestmark = pytest.mark.django_db

POPOLO = "/api/v1/export/popolo.json"


def make_user(django_user_model, name, role=None, **extra):
    user = django_user_model.objects.create_user(username=name, password="a-long-pass-9x", **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def token_client(key):
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def person_ids(response):
    assert response.status_code == 200, response.content
    return {p["id"] for p in response.json()["persons"]}


@pytest.fixture
def researcher(django_user_model):
    return make_user(django_user_model, "tok-researcher", "researcher", is_staff=True)


@pytest.fixture
def partner(django_user_model):
    return make_user(django_user_model, "tok-partner", "partner")


def test_issue_token_prints_the_key_once_and_stores_only_its_digest(partner):
    out, err = StringIO(), StringIO()
    call_command(
        "issue_token",
        partner.username,
        "--name",
        "Data desk",
        "--scope",
        "read:partner",
        "--scope",
        "write:indicators",
        "--expires-days",
        "30",
        stdout=out,
        stderr=err,
    )
    key = out.getvalue().strip()
    assert len(key) == 64
    assert "shown once" in err.getvalue()
    client = ApiClient.objects.get(user=partner, name="Data desk")
    assert client.scopes == ["read:partner", "write:indicators"]
    assert timedelta(days=29) < client.expires_at - timezone.now() <= timedelta(days=30)
    token = AuthToken.objects.get(user=partner)
    assert token.digest != key and len(token.digest) == 128
    # No column of any table holds the key (knox keeps only a 15-character lookup prefix).
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(t)::text FROM knox_authtoken t")
        tokens = [r[0] for r in cursor.fetchall()]
        cursor.execute("SELECT row_to_json(t)::text FROM governance_apiclient t")
        clients = [r[0] for r in cursor.fetchall()]
    assert tokens and clients
    assert not any(key in row for row in tokens + clients)
    assert token_client(key).get(POPOLO).status_code == 200


def test_issue_token_lists_and_revokes(partner):
    _, key = token_issue(user=partner, name="Tool", scopes=["read:public"])
    out = StringIO()
    call_command("issue_token", partner.username, "--list", stdout=out)
    assert "Tool" in out.getvalue() and "read:public" in out.getvalue()
    assert key not in out.getvalue()
    call_command("issue_token", partner.username, "--revoke", "Tool", stdout=StringIO())
    assert token_client(key).get(POPOLO).status_code == 401
    assert ApiClient.objects.get(name="Tool").revoked_at is not None


def test_issue_token_refuses_a_read_scope_above_the_role(partner):
    with pytest.raises(CommandError, match="may not read at the level of read:restricted"):
        call_command("issue_token", partner.username, "--name", "x", "--scope", "read:restricted")
    assert not ApiClient.objects.filter(user=partner).exists()
    assert not AuthToken.objects.filter(user=partner).exists()


def test_issue_token_needs_a_scope_and_a_known_user(partner):
    with pytest.raises(CommandError, match="at least one scope"):
        call_command("issue_token", partner.username, "--name", "x")
    with pytest.raises(CommandError, match="No user"):
        call_command("issue_token", "nobody-here", "--name", "x", "--scope", "read:public")


def test_write_scopes_need_at_least_a_partner_account(django_user_model):
    outsider = make_user(django_user_model, "tok-outsider")
    with pytest.raises(ValidationError) as exc:
        token_issue(user=outsider, name="x", scopes=["read:public", "write:research"])
    assert "scopes" in exc.value.message_dict


def test_unknown_scope_is_refused(partner):
    with pytest.raises(ValidationError) as exc:
        token_issue(user=partner, name="x", scopes=["read:everything"])
    assert "Unknown scope" in exc.value.message_dict["scopes"][0]


def test_expired_token_is_a_401(partner):
    client, key = token_issue(user=partner, name="Old", scopes=["read:partner"], expires_days=1)
    assert token_client(key).get(POPOLO).status_code == 200
    AuthToken.objects.filter(pk=client.token_id).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    response = token_client(key).get(POPOLO)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."
    assert response["WWW-Authenticate"] == 'Bearer realm="api", Token realm="api"'


def test_revoked_token_is_a_401_and_the_client_row_stays(partner):
    client, key = token_issue(user=partner, name="Gone", scopes=["read:partner"])
    token_revoke(client=client)
    assert token_client(key).get(POPOLO).status_code == 401
    client.refresh_from_db()
    assert client.revoked_at is not None and client.token is None


def test_wrong_key_is_a_401(partner):
    _, key = token_issue(user=partner, name="Tool", scopes=["read:partner"])
    assert token_client(key[:-1] + ("0" if key[-1] != "0" else "1")).get(POPOLO).status_code == 401


def test_a_knox_token_without_client_row_is_refused(partner):
    _, key = AuthToken.objects.create(user=partner)
    assert token_client(key).get(POPOLO).status_code == 401


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer", "TOKEN"])
def test_bearer_and_token_schemes_both_authenticate(partner, scheme):
    _, key = token_issue(user=partner, name="Gen", scopes=["read:partner"])
    anonymous = Client().get("/api/v1/csos/").json()["count"]
    # Twice: the second answer may come from the resolved-token cache and the read short-cut.
    for _ in range(2):
        response = Client(HTTP_AUTHORIZATION=f"{scheme} {key}").get("/api/v1/csos/")
        assert response.json()["count"] > anonymous


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Digest username=x",
        "Bearer",
        "Token",
        "Bearer a b",
        "Key {key}",
        "",
        "   ",
        "{key}",
        "Bearer \xff\xfe",
    ],
)
def test_any_other_scheme_or_a_malformed_header_is_a_401_never_anonymous(partner, header):
    _, key = token_issue(user=partner, name="Gen", scopes=["read:partner"])
    for path in (POPOLO, "/api/v1/towns/", "/api/v1/"):
        response = Client(HTTP_AUTHORIZATION=header.format(key=key)).get(path)
        assert response.status_code == 401, (header, path, response.status_code)
        assert "Bearer" in response["WWW-Authenticate"]
        assert "Token" in response["WWW-Authenticate"]


def test_token_in_the_query_string_is_ignored(researcher):
    _, key = token_issue(user=researcher, name="All", scopes=["read:restricted"])
    anonymous = person_ids(Client().get(POPOLO))
    with_header = person_ids(token_client(key).get(POPOLO))
    assert with_header > anonymous  # the research token sees restricted names
    for param in ("token", "auth_token", "access_token", "key"):
        assert person_ids(Client().get(POPOLO, {param: key})) == anonymous


def test_token_read_scope_caps_what_the_owner_sees(researcher, partner):
    _, public_key = token_issue(user=researcher, name="Public", scopes=["read:public"])
    _, partner_key = token_issue(user=researcher, name="Partner", scopes=["read:partner"])
    _, full_key = token_issue(user=researcher, name="Full", scopes=["read:restricted"])
    _, partner_own = token_issue(user=partner, name="Own", scopes=["read:partner"])
    anonymous = person_ids(Client().get(POPOLO))
    as_public = person_ids(token_client(public_key).get(POPOLO))
    as_partner = person_ids(token_client(partner_key).get(POPOLO))
    as_full = person_ids(token_client(full_key).get(POPOLO))
    assert as_public == anonymous
    assert as_partner == person_ids(token_client(partner_own).get(POPOLO))
    assert anonymous <= as_partner < as_full
    restricted = Person.objects.filter(names_access_level="restricted", deleted_at__isnull=True)
    assert {f"person/{p.pk}" for p in restricted} <= as_full
    assert not {f"person/{p.pk}" for p in restricted} & as_partner


def test_scope_levels():
    assert scope_read_level([]) == Viewer.PUBLIC
    assert scope_read_level(["write:indicators"]) == Viewer.PUBLIC
    assert scope_read_level(["read:public", "read:partner"]) == Viewer.PARTNER
    assert scope_read_level(["read:restricted"]) == Viewer.RESEARCH


def test_token_viewer_level_is_the_lower_of_role_and_scope(researcher, partner):
    assert token_viewer_level(researcher, ["read:partner"]) == Viewer.PARTNER
    assert token_viewer_level(partner, ["read:partner"]) == Viewer.PARTNER
    partner._atlas_viewer_level = None
    assert token_viewer_level(partner, ["read:restricted"]) == Viewer.PARTNER


class ScopedView(APIView):
    permission_classes = [AllowAny, HasScope]
    required_scopes = ("write:indicators",)
    write_scope = "write:indicators"

    def get(self, request, *args, **kwargs):
        return Response(
            {
                "scopes": sorted(token_scopes(request) or []),
                "may_write": has_write_scope(request, self),
            }
        )


@pytest.mark.parametrize(
    ("scopes", "status", "may_write"),
    [
        (["read:partner", "write:indicators"], 200, True),
        (["read:partner", "write:research"], 403, None),
        (["read:partner"], 403, None),
    ],
)
def test_has_scope_and_write_scope(partner, scopes, status, may_write):
    _, key = token_issue(user=partner, name="t", scopes=scopes)
    request = APIRequestFactory().get("/x", HTTP_AUTHORIZATION=f"Token {key}")
    response = ScopedView.as_view()(request)
    assert response.status_code == status
    if may_write is not None:
        assert response.data["may_write"] is may_write


class OpenScopedView(ScopedView):
    required_scopes = ()


def test_write_research_covers_every_write_scope(partner):
    _, key = token_issue(user=partner, name="t", scopes=["read:partner", "write:research"])
    request = APIRequestFactory().get("/x", HTTP_AUTHORIZATION=f"Token {key}")
    response = OpenScopedView.as_view()(request)
    assert response.data == {"scopes": ["read:partner", "write:research"], "may_write": True}


def test_session_requests_have_no_token_scopes(partner):
    request = APIRequestFactory().get("/x")
    request.user = partner
    assert token_scopes(request) is None
    assert has_write_scope(request, ScopedView()) is False


class EchoView(APIView):
    permission_classes = [AllowAny]

    def post(self, request, *args, **kwargs):
        return Response(request.data)


def test_project_parsers_take_json_only():
    """The API's default parsers (settings) accept JSON and refuse any other body with 415."""
    factory = APIRequestFactory()
    ok = EchoView.as_view()(factory.post("/x", {"a": 1}, format="json"))
    assert ok.status_code == 200 and ok.data == {"a": 1}
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "text/csv"):
        request = factory.post("/x", "a=1", content_type=content_type)
        response = EchoView.as_view()(request)
        assert response.status_code == 415, content_type


def test_json_endpoint_refuses_other_content_types(researcher):
    """Quality 15: every write route of the API answers 415 to a body that is not JSON."""
    client = Client()
    client.force_login(researcher)
    routes = [
        name
        for name in get_resolver().reverse_dict
        if isinstance(name, str) and name.endswith("-list")
    ]
    posted = 0
    for name in sorted(routes):
        url = reverse(name, kwargs={"version": "v1"})
        response = client.options(url)
        if "POST" not in response.get("Allow", ""):
            continue
        response = client.post(url, data="kind=castle", content_type="text/plain")
        assert response.status_code == 415, (url, response.status_code)
        assert "Unsupported media type" in response.json()["detail"]
        response = client.post(
            url, data="kind=castle", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 415, (url, response.status_code)
        posted += 1
    assert posted, "no API list route accepts POST"


@pytest.mark.parametrize(
    ("role", "scopes", "level"),
    [
        ("partner", ["read:partner"], Viewer.PARTNER),
        ("partner", ["read:public"], Viewer.PUBLIC),
        ("researcher", ["read:restricted", "write:research"], Viewer.RESEARCH),
    ],
)
def test_a_token_is_checked_in_one_query(django_user_model, settings, role, scopes, level):
    """Uncached, the token, its user, its API client and the user's groups come in one
    query; the level and scopes are those knox's way and the role's own query give."""
    from django.test.utils import CaptureQueriesContext

    from governance.api.authentication import ScopedTokenAuthentication
    from governance.tokens import scopes_allowed

    settings.READ_CACHE_TIMEOUT = 0
    user = make_user(django_user_model, f"one-query-{role}", role, is_staff=role == "researcher")
    _, key = token_issue(user=user, name="One query", scopes=scopes)
    request = APIRequestFactory().get("/api/v1/", HTTP_AUTHORIZATION=f"Bearer {key}")
    with CaptureQueriesContext(connection) as queries:
        found, token = ScopedTokenAuthentication().authenticate(request)
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert found.pk == user.pk and token.user_id == user.pk
    assert found._atlas_viewer_level == level == token_viewer_level(user, scopes)
    assert found._atlas_token_scopes == frozenset(scopes)
    fresh = django_user_model.objects.get(pk=user.pk)
    assert found._atlas_scopes_allowed == scopes_allowed(fresh)


def test_a_role_taken_away_is_seen_at_the_next_request(partner, settings):
    settings.READ_CACHE_TIMEOUT = 0
    _, key = token_issue(user=partner, name="Role", scopes=["read:partner"])
    assert token_client(key).get(POPOLO).status_code == 200
    partner.groups.clear()
    from governance.api.authentication import ScopedTokenAuthentication

    request = APIRequestFactory().get("/api/v1/", HTTP_AUTHORIZATION=f"Token {key}")
    user, _ = ScopedTokenAuthentication().authenticate(request)
    assert user._atlas_viewer_level == Viewer.PUBLIC


def test_another_expired_token_is_refused_and_deleted_when_presented(partner):
    old, old_key = token_issue(user=partner, name="Old", scopes=["read:partner"])
    _, key = token_issue(user=partner, name="New", scopes=["read:partner"])
    AuthToken.objects.filter(pk=old.token_id).update(expiry=timezone.now() - timedelta(1))
    assert token_client(key).get(POPOLO).status_code == 200
    assert token_client(old_key).get(POPOLO).status_code == 401
    assert not AuthToken.objects.filter(pk=old.token_id).exists()


def test_token_candidates_load_what_the_orm_loads(partner, researcher):
    """The token query written once from the models' metadata (governance.api.authentication.
    token_candidates) gives the rows and values select_related gives: a token with its client,
    and a knox token without one (refused, as before)."""
    from governance.api.authentication import token_candidates

    client, key = token_issue(user=researcher, name="Compare", scopes=["read:restricted"])
    bare, bare_key = AuthToken.objects.create(user=partner)
    for prefix, has_client in ((client.token_key, True), (bare.token_key, False)):
        (found,) = token_candidates(prefix)
        expected = AuthToken.objects.select_related("user").get(token_key=prefix)
        fields = AuthToken._meta.concrete_fields
        assert [getattr(found, f.attname) for f in fields] == [
            getattr(expected, f.attname) for f in fields
        ]
        user_fields = type(expected.user)._meta.concrete_fields
        assert [getattr(found.user, f.attname) for f in user_fields] == [
            getattr(expected.user, f.attname) for f in user_fields
        ]
        assert set(found.atlas_groups) == set(expected.user.groups.values_list("name", flat=True))
        with CaptureQueriesContext(connection) as queries:
            if has_client:
                loaded = ApiClient.objects.get(token=expected)
                assert found.client.pk == loaded.pk and found.client.scopes == loaded.scopes
                assert found.client.token is found
            else:
                with pytest.raises(ApiClient.DoesNotExist):
                    found.client  # noqa: B018
        assert len(queries) == (1 if has_client else 0)  # only the comparison's own query
    assert token_client(bare_key).get(POPOLO).status_code == 401
    assert token_client(key).get(POPOLO).status_code == 200
