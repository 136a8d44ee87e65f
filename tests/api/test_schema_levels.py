"""The OpenAPI schema per viewer (issue 6, quality bar 23).

Each persona fetches ``/api/v1/schema/?format=json`` and must find no field the redaction
policy (:mod:`governance.redaction`) may hide from it, no research-only filter, search or
ordering field, and no operation it cannot call; researchers get the full schema, the same as
``manage.py spectacular``. Every persona's schema validates as OpenAPI 3 with every ``$ref``
resolving, and the offline docs page works for each persona under the CSP.

Which component describes which model is read from drf-spectacular's component registry of the
full schema, so the expectations follow the serializers and the policy, not a list kept here.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist
from django.test import Client
from drf_spectacular.validation import validate_schema

from governance.access import LEVELS_FOR, AccessLevel, Viewer
from governance.api.schema import AtlasSchemaGenerator
from governance.redaction import POLICY, rules_for, sensitive_fields
from governance.tokens import token_issue

pytestmark = pytest.mark.django_db

SCHEMA = "/api/v1/schema/?format=json"
DOCS = "/api/v1/docs/"
REF = "#/components/schemas/"
WRITES = {"post", "put", "patch", "delete"}
LEVEL_OF = {
    "anonymous": Viewer.PUBLIC,
    "outsider": Viewer.PUBLIC,
    "donor": Viewer.PARTNER,
    "partner": Viewer.PARTNER,
    "partner_writer": Viewer.PARTNER,
    "researcher": Viewer.RESEARCH,
}
LOWER = ("anonymous", "outsider", "donor", "partner", "partner_writer")


# --- Expectations from the code ----------------------------------------------------------------


def policy_hidden(model, level: Viewer) -> set[str]:
    """Fields of ``model`` the policy may hide at ``level``: a fixed level above the viewer's,
    or a level held on each record that can be above it (a record may hold any choice)."""
    hidden = set()
    for rule in rules_for(model):
        if rule.level_attr:
            levels = {value for value, _ in model._meta.get_field(rule.level_attr).choices}
        else:
            levels = {rule.level_of(None)}
        if not levels <= set(LEVELS_FOR[level]):
            hidden |= set(rule.fields)
    return hidden


@pytest.fixture(scope="module")
def full():
    """The full schema as ``manage.py spectacular`` builds it, with its generator (registry,
    endpoints)."""
    generator = AtlasSchemaGenerator()
    schema = json.loads(json.dumps(generator.get_schema(request=None, public=True), default=str))
    return schema, generator


def refs_in(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith(REF):
            found.add(node["$ref"][len(REF) :])
        for value in node.values():
            found |= refs_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs_in(value)
    return found


@pytest.fixture(scope="module")
def models_of(full) -> dict[str, set]:
    """Component name -> the model(s) it describes: the serializer's ``Meta.model``, or for a
    plain serializer nested in a model's component (a person reference) the related model of
    the property that holds it."""
    schema, generator = full
    components = schema["components"]["schemas"]
    serializers = {}
    for name in components:
        try:
            serializers[name] = generator.registry[(name, "schemas")].object
        except KeyError:
            continue  # added by a hook (the error shapes): no serializer behind it
    mapping: dict[str, set] = {}
    for name, obj in serializers.items():
        model = getattr(getattr(obj, "Meta", None), "model", None)
        if model is not None:
            mapping.setdefault(name, set()).add(model)
    for name, models in list(mapping.items()):
        (model,) = models
        serializer = serializers[name]
        fields = serializer.fields if not isinstance(serializer, type) else serializer().fields
        for prop, prop_schema in components[name].get("properties", {}).items():
            for target in refs_in(prop_schema):
                if getattr(getattr(serializers.get(target), "Meta", None), "model", None):
                    continue
                source = fields[prop].source.split(".")[0] if prop in fields else prop
                try:
                    related = model._meta.get_field(source).related_model
                except FieldDoesNotExist:
                    continue
                if related is not None:
                    mapping.setdefault(target, set()).add(related)
    return mapping


@pytest.fixture(scope="module")
def view_rules(full) -> dict[str, dict]:
    """Schema path -> the research-only parameters of its list view."""
    _, generator = full
    rules = {}
    for path, _regex, method, callback in generator.endpoints:
        if method != "GET":
            continue
        cls = callback.cls
        filterset = getattr(cls, "filterset_class", None)
        rules[path.replace("{version}", "v1")] = {
            "filters": set(getattr(filterset, "research_only", ())),
            "ordering": set(getattr(cls, "research_ordering_fields", ())),
            "search": bool(getattr(cls, "research_search_only", False)),
        }
    return rules


# --- Personas ----------------------------------------------------------------------------------


def persona_client(personas, django_user_model, name: str) -> Client:
    """A client speaking as persona ``name``; the partners speak with tokens, the
    ``partner_writer`` one allowed to write indicator values."""
    if name != "partner_writer":
        return personas[name].api_client()
    writer = django_user_model.objects.create_user(username="schema-writer", password="x-9-long")
    writer.groups.add(Group.objects.get(name="partner"))
    _, key = token_issue(user=writer, name="writer", scopes=["read:partner", "write:indicators"])
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def fetch(client: Client, persona: str) -> dict:
    response = client.get(SCHEMA)
    assert response.status_code == 200, (persona, response.content[:300])
    vary = {v.strip().lower() for v in response["Vary"].split(",")}
    assert {"authorization", "cookie"} <= vary
    if persona != "anonymous":
        # A schema for a signed-in viewer or a token is kept by no cache.
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]
    return response.json()


def operations(schema) -> set[tuple[str, str]]:
    return {(path, method) for path, ops in schema["paths"].items() for method in ops}


def writes_of(schema) -> set[tuple[str, str]]:
    return {(path, method) for path, method in operations(schema) if method in WRITES}


def _parameters(schema, path):
    return {
        p["name"]: p for p in schema["paths"].get(path, {}).get("get", {}).get("parameters", [])
    }


def assert_valid(schema, persona):
    validate_schema(schema)  # the OpenAPI 3.0 JSON schema, as `spectacular --validate` does
    if importlib.util.find_spec("openapi_spec_validator") is not None:
        # Not a pinned dependency; where a CI image has it, it must agree.
        from openapi_spec_validator import validate

        validate(schema)
    components = set(schema["components"]["schemas"])
    dangling = refs_in(schema) - components
    assert not dangling, f"{persona}: unresolved $ref {sorted(dangling)}"
    # Nothing left behind: every component is reachable from a path.
    reachable, queue = set(), list(refs_in(schema["paths"]))
    while queue:
        name = queue.pop()
        if name not in reachable:
            reachable.add(name)
            queue.extend(refs_in(schema["components"]["schemas"][name]))
    assert reachable == components, sorted(components - reachable)


# --- Tests -------------------------------------------------------------------------------------


def _policy_models():
    from django.apps import apps

    return [apps.get_model(label) for label in POLICY] + [
        m for m in apps.get_models() if {"note", "notes"} & {f.name for f in m._meta.get_fields()}
    ]


def test_policy_has_something_to_hide_at_every_lower_level():
    """Guard against a vacuous test: the policy hides fields below research level."""
    for level in (Viewer.PUBLIC, Viewer.PARTNER):
        assert any(policy_hidden(model, level) for model in _policy_models())


def test_components_are_mapped_to_their_models(models_of):
    """The person reference nested in appointments, ties and leaderships is recognised as a
    person (so its names are judged by the person's rule)."""
    from towns.models import Person

    assert models_of["PersonRef"] == {Person}
    assert AccessLevel.RESTRICTED in {
        value for value, _ in Person._meta.get_field("names_access_level").choices
    }


@pytest.mark.parametrize("persona", LOWER)
def test_lower_level_schema(persona, personas, django_user_model, full, models_of, view_rules):
    """Below research level: no policy field in any component, no research-only parameter,
    only the writes the viewer may make; valid OpenAPI 3."""
    full_schema, _ = full
    schema = fetch(persona_client(personas, django_user_model, persona), persona)
    level = LEVEL_OF[persona]
    assert_valid(schema, persona)

    # 1. No field the policy may hide at this level, in any component (nor required). What a
    # writer sends (the ...Request components of a write token's schema) is not a read: it
    # lists what the server accepts, fields the writer cannot read back included (issue 18).
    checked = 0
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request"):
            continue
        hidden = set()
        for model in models_of.get(name, ()):
            hidden |= policy_hidden(model, level)
        leaked = hidden & set(component.get("properties", {}))
        assert not leaked, f"{persona}: {name} lists {sorted(leaked)}"
        assert not hidden & set(component.get("required", ())), (persona, name)
        checked += bool(hidden)
    assert checked >= 3, "components with policy fields were checked"

    # 2. Names that in the full schema belong only to policy fields (interview_code,
    # contacts, leaders, given_name, note, ...) appear nowhere: no property, no parameter.
    policy_names, other_names = set(), set()
    for name, component in full_schema["components"]["schemas"].items():
        hidden = set()
        for model in models_of.get(name, ()):
            hidden |= policy_hidden(model, level)
        for prop in component.get("properties", {}):
            (policy_names if prop in hidden else other_names).add(prop)
    only_policy = policy_names - other_names
    assert {"interview_code", "contacts", "note", "given_name"} <= only_policy
    readable = copy.deepcopy(schema)
    for name in [n for n in readable["components"]["schemas"] if n.endswith("Request")]:
        del readable["components"]["schemas"][name]
    for path_item in readable["paths"].values():
        for operation in path_item.values():
            if isinstance(operation, dict):
                operation.pop("requestBody", None)
    text = json.dumps(readable)
    for name in only_policy:
        assert f'"{name}"' not in text, f"{persona} schema mentions {name}"

    # 3. Research-only filters, search and ordering fields are not offered.
    seen = 0
    for path, rules in view_rules.items():
        if path not in schema["paths"]:
            continue
        params, full_params = _parameters(schema, path), _parameters(full_schema, path)
        for name in rules["filters"]:
            assert name in full_params, (path, name)
            assert name not in params, (persona, path, name)
            seen += 1
        if rules["search"]:
            assert "search" in full_params
            assert "search" not in params, (persona, path)
            seen += 1
        for field in rules["ordering"]:
            assert re.search(rf"\b{field}\b", full_params["ordering"]["description"])
            assert not re.search(rf"\b{field}\b", params["ordering"]["description"])
            seen += 1
    assert seen >= 5  # sources, appointments, ties (filters), persons (search, ordering)

    # 4. Operations: reads everywhere, writes only where the viewer may write.
    ops = operations(schema)
    reads = {(p, "get") for p, m in operations(full_schema) if m == "get"}
    if persona == "anonymous":  # a writer's own revisions need a signed-in user or a token
        reads = {(p, m) for p, m in reads if not p.startswith("/api/v1/my-revisions/")}
    assert reads <= ops
    if persona == "partner_writer":
        expected = {(p, m) for p, m in writes_of(full_schema) if "/indicator-values/" in p}
        assert writes_of(schema) == expected
        assert ("/api/v1/indicator-values/bulk/", "post") in expected
        body = schema["components"]["schemas"]["IndicatorValueWriteRequest"]
        assert {"town", "indicator", "year", "value"} <= set(body["properties"])
        # The body lists what the writer may send, a note it cannot read back included: the
        # server accepts it, so the schema says so (issue 18).
        assert "note" in body["properties"]
    else:
        assert not writes_of(schema)
    assert "not listed" in schema["info"]["description"]


def test_researcher_schema_is_the_full_schema(personas, django_user_model, full, models_of):
    full_schema, _ = full
    schema = fetch(persona_client(personas, django_user_model, "researcher"), "researcher")
    assert_valid(schema, "researcher")
    assert schema["paths"] == full_schema["paths"]
    assert schema["components"] == full_schema["components"]
    assert writes_of(schema) and ("/api/v1/persons/", "post") in writes_of(schema)
    shown = set()
    for name, models in models_of.items():
        props = set(schema["components"]["schemas"].get(name, {}).get("properties", {}))
        for model in models:
            shown |= {(model._meta.label_lower, f) for f in props & sensitive_fields(model)}
    assert {
        ("governance.source", "interview_code"),
        ("csos.cso", "contacts"),
        ("csos.cso", "leaders"),
        ("towns.person", "name_en"),
        ("towns.person", "given_name"),
    } <= shown
    assert any(field == "note" for _, field in shown)


def test_yaml_schema_is_filtered_too(personas):
    body = personas["anonymous"].api_client().get("/api/v1/schema/").content.decode()
    assert "openapi:" in body
    assert "interview_code" not in body
    full_body = personas["researcher"].api_client().get("/api/v1/schema/").content.decode()
    assert "interview_code" in full_body


@pytest.mark.parametrize("persona", list(LEVEL_OF))
def test_docs_work_offline_under_the_csp(persona, personas, django_user_model):
    client = persona_client(personas, django_user_model, persona)
    response = client.get(DOCS)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="swagger-ui"' in html
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert "'unsafe-inline'" not in script_src
    # No inline script: every <script> loads from this site.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts
    for attrs, body in scripts:
        assert not body.strip(), "inline script would be blocked by the CSP"
        src = re.search(r'src="([^"]+)"', attrs).group(1).replace("&amp;", "&")
        assert src.startswith("/"), f"external script {src}"
        asset = client.get(src)
        assert asset.status_code == 200, src
        content = b"".join(asset.streaming_content) if asset.streaming else asset.content
        assert content
        if "script" in src.split("?")[-1]:
            # The start-up script points Swagger UI at this viewer's schema.
            assert "/api/v1/schema/" in content.decode()
    assert "cdn" not in html.lower()


def test_errors_are_documented_and_match_what_the_api_answers(personas, full):
    """Every operation documents 401, 406, 429 and 500; a record path 404; a body 400 with
    field errors; a write 403 — and real error bodies (problem details) match the documented
    schemas. Reads declare the token optional."""
    import jsonschema

    schema, _ = full
    components = schema["components"]["schemas"]
    for path, ops in schema["paths"].items():
        for method, operation in ops.items():
            responses = operation["responses"]
            assert {"401", "406", "429", "500"} <= set(responses), (path, method)
            if method == "get":
                assert {} in operation.get("security", [{}]), (path, method)  # token optional
            if "{" in path:
                assert "404" in responses, (path, method)
            if method in WRITES:
                assert "403" in responses, (path, method)
            if "requestBody" in operation:
                assert "400" in responses, (path, method)
    assert "Retry-After" in schema["paths"]["/api/v1/towns/"]["get"]["responses"]["429"]["headers"]

    def body_of(path, method, code):
        content = schema["paths"][path][method]["responses"][code]["content"]
        ref = content["application/problem+json"]["schema"]["$ref"]
        return {"$ref": ref, "components": {"schemas": components}}

    anonymous = personas["anonymous"].api_client()
    cases = [
        (anonymous.get("/api/v1/towns/atlantis/"), "/api/v1/towns/{slug}/", "get", "404"),
        (anonymous.get("/api/v1/towns/", {"kind": "castle"}), "/api/v1/towns/", "get", "400"),
        (
            anonymous.get("/api/v1/towns/", HTTP_AUTHORIZATION="Token not-a-real-key"),
            "/api/v1/towns/",
            "get",
            "401",
        ),
        (
            personas["donor"]
            .api_client()
            .post("/api/v1/sources/", {"citation": "x"}, content_type="application/json"),
            "/api/v1/sources/",
            "post",
            "403",
        ),
    ]
    for response, path, method, code in cases:
        assert str(response.status_code) == code, (path, response.status_code)
        jsonschema.validate(response.json(), body_of(path, method, code))


def test_a_blank_url_is_valid_under_the_schema(full):
    """Issue 18: ``Source.url`` was ``oneOf`` a URI or ``''``; a validator that treats
    ``format`` as an annotation finds ``''`` valid under both and rejects it."""
    import jsonschema

    url = full[0]["components"]["schemas"]["Source"]["properties"]["url"]
    assert "oneOf" not in url
    for value in ("", "https://example.org/budget-2025.pdf"):
        jsonschema.validate(value, url)  # format as an annotation: the permissive reading
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("x" * 501, url)
