"""Formats and exports: CSV, GeoJSON, Popolo, the data package (parsed back and validated)."""

import csv
import io
import json
import zipfile
from pathlib import Path

import frictionless
import pytest
from django.core.cache import cache
from django.db.models import Q
from django.test import Client
from django.utils import timezone
from jsonschema import Draft3Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT3

from csos.models import CSO
from governance.api.renderers import flatten, neutralise, write_csv
from governance.models import Source
from governance.tokens import token_issue
from towns.geo import town_features
from towns.models import Appointment, GroupMembership, Person, Region, Town

pytestmark = pytest.mark.django_db

# Vendored (CC BY 4.0, source and licence beside them): the tests never read outside the checkout.
POPOLO_DIR = Path(__file__).resolve().parents[1] / "standards" / "popolo"
POPOLO_URL = "http://www.popoloproject.com/schemas/{}.json#"


# --- CSV ---------------------------------------------------------------------------------------


def parse_csv(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


def test_csv_of_a_list_has_the_same_rows_as_json():
    params = {"region": "vitebsk", "page_size": 20, "ordering": "name_en"}
    body = Client().get("/api/v1/towns/", params).json()
    response = Client().get("/api/v1/towns/", {**params, "format": "csv"})
    rows = parse_csv(response)
    assert [r["slug"] for r in rows] == [t["slug"] for t in body["results"]]
    assert response["X-Total-Count"] == str(body["count"])
    assert 'rel="next"' in response["Link"] and "format=csv" in response["Link"]
    assert set(rows[0]) >= {"slug", "name_en", "region"}


def test_csv_by_accept_header_and_filters_apply():
    response = Client().get("/api/v1/regions/", HTTP_ACCEPT="text/csv")
    rows = parse_csv(response)
    assert [r["slug"] for r in rows] == list(
        Region.objects.order_by("code").values_list("slug", flat=True)
    )


def test_csv_neutralises_formulas_in_cells():
    town = Town.objects.get(slug="olshany")
    Town.objects.filter(pk=town.pk).update(name_en='=HYPERLINK("http://x.example","click")')
    Town.objects.filter(pk=town.pk).update(name_ru="@SUM(A1)")
    rows = parse_csv(
        Client().get("/api/v1/towns/", {"format": "csv", "page_size": 500, "region": "brest"})
    )
    row = next(r for r in rows if r["slug"] == "olshany")
    assert row["name_en"] == '\'=HYPERLINK("http://x.example","click")'
    assert row["name_ru"] == "'@SUM(A1)"


def test_csv_invalid_filter_is_a_400():
    response = Client().get("/api/v1/towns/", {"format": "csv", "kind": "castle"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+7 029 000", "'+7 029 000"),
        ("-cmd", "'-cmd"),
        ("@import", "'@import"),
        ("\t=1", "'\t=1"),
        ("-0.5", "-0.5"),
        ("+3", "+3"),
        ("plain", "plain"),
        ("a=b", "a=b"),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_flatten_nested_values_and_lists():
    row = {"a": 1, "region": {"slug": "brest", "name": {"en": "Brest"}}, "tags": ["x", "y"]}
    row["items"] = [{"k": 1}]
    assert flatten(row) == {
        "a": 1,
        "region.slug": "brest",
        "region.name.en": "Brest",
        "tags": "x; y",
        "items": '[{"k": 1}]',
    }
    text = write_csv([row, {"a": -2, "extra": None, "flag": True}])
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[1] == {
        "a": "-2",
        "region.slug": "",
        "region.name.en": "",
        "tags": "",
        "items": "",
        "extra": "",
        "flag": "true",
    }


# --- GeoJSON -----------------------------------------------------------------------------------


def assert_rfc7946(collection):
    assert collection["type"] == "FeatureCollection"
    assert isinstance(collection["features"], list) and collection["features"]
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert set(feature) == {"type", "id", "geometry", "properties"}
        geometry = feature["geometry"]
        assert geometry["type"] == "Point"
        lon, lat = geometry["coordinates"]
        assert isinstance(lon, float) and isinstance(lat, float)
        # Belarus lies at 23-33°E, 51-57°N: longitude comes first.
        assert 23 <= lon <= 33 and 51 <= lat <= 57, feature["id"]
        assert {"typology", "own_share", "name_en", "region", "kind"} <= set(feature["properties"])


def test_towns_geojson_is_rfc7946_with_every_town():
    response = Client().get("/api/v1/towns.geojson")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    collection = json.loads(response.content)
    assert_rfc7946(collection)
    assert len(collection["features"]) == Town.objects.count()


def test_towns_geojson_takes_the_list_filters():
    collection = Client().get("/api/v1/towns.geojson", {"region": "vitebsk"}).json()
    assert_rfc7946(collection)
    assert {f["properties"]["region"] for f in collection["features"]} == {"vitebsk"}
    assert len(collection["features"]) == Town.objects.filter(region__slug="vitebsk").count()
    assert Client().get("/api/v1/towns.geojson", {"kind": "castle"}).status_code == 400


def test_town_list_as_geojson_gives_the_current_page():
    response = Client().get("/api/v1/towns/", {"format": "geojson", "page_size": 10})
    assert response.status_code == 200
    collection = json.loads(response.content)
    assert_rfc7946(collection)
    assert len(collection["features"]) == 10


def test_town_features_is_reusable_and_carries_the_profile():
    town = Town.objects.get(slug="olshany")
    collection = town_features(Town.objects.filter(pk=town.pk))
    (feature,) = collection["features"]
    assert feature["geometry"]["coordinates"] == [float(town.longitude), float(town.latitude)]
    assert feature["properties"]["typology"] == town.typology
    assert feature["properties"]["url"] == town.get_absolute_url()


# --- Popolo ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def popolo_validators():
    schemas = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in POPOLO_DIR.glob("*.json")
    }
    missing = {"person", "organization", "post", "membership", "area"} - set(schemas)
    assert not missing, f"Popolo schemas missing from {POPOLO_DIR}: {sorted(missing)}"
    registry = Registry().with_resources(
        (POPOLO_URL.format(name), Resource.from_contents(schema, default_specification=DRAFT3))
        for name, schema in schemas.items()
    )
    return {
        name: Draft3Validator(schemas[name], registry=registry)
        for name in ("person", "organization", "post", "membership", "area")
    }


KIND_SCHEMA = {
    "persons": "person",
    "organizations": "organization",
    "posts": "post",
    "memberships": "membership",
    "areas": "area",
}


def assert_valid_popolo(document, validators):
    assert set(document) == set(KIND_SCHEMA)
    for kind, schema in KIND_SCHEMA.items():
        for item in document[kind]:
            errors = list(validators[schema].iter_errors(item))
            assert not errors, (kind, item.get("id"), [e.message for e in errors])
    persons = {p["id"] for p in document["persons"]}
    organizations = {o["id"] for o in document["organizations"]}
    posts = {p["id"] for p in document["posts"]}
    for person in document["persons"]:
        assert person["name"]
    for m in document["memberships"]:
        assert m["person_id"] in persons
        assert m.get("organization_id", next(iter(organizations))) in organizations
        assert m.get("post_id", next(iter(posts))) in posts


def test_popolo_validator_rejects_an_invalid_object(popolo_validators):
    assert list(popolo_validators["person"].iter_errors({"birth_date": "yesterday"}))
    assert list(
        popolo_validators["membership"].iter_errors({"person": {"birth_date": "yesterday"}})
    ), "$ref between the Popolo schemas is resolved"


def test_popolo_export_for_the_public_is_valid_and_hides_what_it_must(popolo_validators):
    response = Client().get("/api/v1/export/popolo.json")
    assert response.status_code == 200
    document = response.json()
    assert_valid_popolo(document, popolo_validators)
    assert document["organizations"] and document["posts"]
    text = response.content.decode("utf-8")
    hidden = Person.objects.filter(~Q(names_access_level="public") | ~Q(access_level="public"))
    for person in hidden:
        assert f'"person/{person.pk}"' not in text
        assert person.name_en not in text
    assert "interview" not in text.lower()
    for person in document["persons"]:
        assert not {"note", "summary", "biography"} & set(person)
    leaderships = [m for m in document["memberships"] if m["id"].startswith("cso-leadership/")]
    shown = {f"cso/{c.slug}" for c in CSO.objects.filter(leaders_access_level="public")}
    assert {m["organization_id"] for m in leaderships} <= shown


def test_popolo_export_for_a_research_token_shows_more(django_user_model, popolo_validators):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username="pop-r", password="a-long-pass-9x")
    user.groups.add(Group.objects.get(name="researcher"))
    _, key = token_issue(user=user, name="t", scopes=["read:restricted"])
    document = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/export/popolo.json").json()
    assert_valid_popolo(document, popolo_validators)
    public = Client().get("/api/v1/export/popolo.json").json()
    assert len(document["persons"]) > len(public["persons"])
    assert len(document["memberships"]) > len(public["memberships"])
    live = Person.objects.filter(deleted_at__isnull=True).count()
    assert len(document["persons"]) == live
    kinds = {m["id"].split("/")[0] for m in document["memberships"]}
    assert "appointment" in kinds
    assert kinds <= {"group-membership", "appointment", "cso-leadership"}
    expected = GroupMembership.objects.filter(deleted_at__isnull=True).count()
    assert sum(m["id"].startswith("group-membership/") for m in document["memberships"]) == (
        expected
    )


def test_popolo_omits_memberships_of_persons_without_visible_names(popolo_validators):
    appointment = Appointment.objects.filter(deleted_at__isnull=True).select_related("person")[0]
    person = appointment.person
    public = {"access_level": "public", "state": "published", "deleted_at": None}
    Appointment.objects.filter(pk=appointment.pk).update(**public)
    Person.objects.filter(pk=person.pk).update(**public, names_access_level="public")
    document = Client().get("/api/v1/export/popolo.json").json()
    assert f"person/{person.pk}" in {p["id"] for p in document["persons"]}
    assert f"appointment/{appointment.pk}" in {m["id"] for m in document["memberships"]}
    Person.objects.filter(pk=person.pk).update(names_access_level="partner")
    document = Client().get("/api/v1/export/popolo.json").json()
    assert_valid_popolo(document, popolo_validators)
    assert f"person/{person.pk}" not in {p["id"] for p in document["persons"]}
    assert f"person/{person.pk}" not in {m["person_id"] for m in document["memberships"]}
    assert person.name_en not in json.dumps(document, ensure_ascii=False)


# --- Data package ------------------------------------------------------------------------------


def unpack(content, tmp_path):
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        archive.extractall(tmp_path)
    return tmp_path / "datapackage.json"


def test_datapackage_is_valid_frictionless_with_every_column_described(tmp_path):
    cache.clear()
    response = Client().get("/api/v1/export/datapackage.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    descriptor_path = unpack(response.content, tmp_path)
    report = frictionless.validate(str(descriptor_path))
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])
    descriptor = json.loads(descriptor_path.read_text())
    names = {r["name"] for r in descriptor["resources"]}
    assert {"towns", "regions", "indicator_values", "csos", "persons"} <= names
    for resource in descriptor["resources"]:
        header = next(csv.reader((tmp_path / resource["path"]).open(encoding="utf-8")))
        fields = resource["schema"]["fields"]
        assert header == [f["name"] for f in fields]
        assert all(f["description"] and f["type"] for f in fields)
    towns = list(csv.DictReader((tmp_path / "data" / "towns.csv").open(encoding="utf-8")))
    assert len(towns) == Town.objects.count()


def test_datapackage_holds_public_records_only(tmp_path):
    cache.clear()
    content = Client().get("/api/v1/export/datapackage.zip").content
    unpack(content, tmp_path)
    everything = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "data").glob("*.csv"))
    for source in Source.objects.exclude(access_level="public", state="published"):
        assert source.citation not in everything
    for person in Person.objects.exclude(names_access_level="public"):
        assert person.name_en not in everything
    for cso in CSO.objects.exclude(access_level="public", state="published"):
        assert f"\n{cso.slug}," not in everything
    assert "interview_code" not in everything and "contacts" not in everything


def test_datapackage_is_rebuilt_when_data_changes_and_supports_etag():
    cache.clear()
    first = Client().get("/api/v1/export/datapackage.zip")
    etag = first["ETag"]
    again = Client().get("/api/v1/export/datapackage.zip", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag
    town = Town.objects.get(slug="olshany")
    town.population = (town.population or 0) + 1
    town.save()
    changed = Client().get("/api/v1/export/datapackage.zip", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    with zipfile.ZipFile(io.BytesIO(changed.content)) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("data/towns.csv").decode())))
    assert next(r for r in rows if r["slug"] == "olshany")["population"] == str(town.population)
    # A record leaving the public set by a queryset update (no updated_at) still changes it.
    public = CSO.objects.visible_to(None).first()
    assert public is not None
    CSO.objects.filter(pk=public.pk).update(deleted_at=timezone.now())
    assert Client().get("/api/v1/export/datapackage.zip")["ETag"] != changed["ETag"]


def test_datapackage_follows_a_write_that_leaves_updated_at_alone():
    """Issue 18: the package was cached under row counts and the latest ``updated_at``, so a
    queryset ``update()`` (or SQL) that changed a figure left it stale. It now follows the
    exact data state, like the read cache."""

    town = Town.objects.filter(population__isnull=False).order_by("slug").first()

    def exported_population() -> str:
        content = Client().get("/api/v1/export/datapackage.zip").content
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            rows = csv.DictReader(io.StringIO(archive.read("data/towns.csv").decode()))
            return next(r["population"] for r in rows if r["slug"] == town.slug)

    assert exported_population() == str(town.population)
    Town.objects.filter(pk=town.pk).update(population=town.population + 777)
    assert exported_population() == str(town.population + 777)


def test_flat_tables_write_the_same_bytes_as_model_instances():
    """The big tables are written by PostgreSQL (``Table.flat``, ``copy_csv``: 4.1 s → 0.1 s
    for the indicator values at demo size, 21 s → 4 s at scale); they must write exactly what
    reading each row as a model instance writes, redaction (``visible_to``) included."""
    import dataclasses

    from csos.exports import TABLES, copy_csv, table_csv

    flat = [t for t in TABLES if t.flat]
    assert "indicator_values" in {t.name for t in flat}
    for table in flat:
        by_postgres = copy_csv(table)
        assert by_postgres is not None, f"{table.name}: COPY fell back to Python"
        as_instances = table_csv(dataclasses.replace(table, flat=False))
        assert by_postgres.count(b"\r\n") > 20, table.name
        assert by_postgres == as_instances, table.name
        assert _python_csv(table.columns, table.records()) == as_instances, table.name


def _python_csv(columns, records) -> bytes:
    from csos.exports import _csv_value

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    for record in records:
        writer.writerow([_csv_value(value) for value in record])
    return out.getvalue().encode()


def test_postgres_writes_hostile_cells_as_python_does():
    """Formula prefixes, numbers that only look like formulas, non-ASCII digits, empty
    strings, dates, booleans, integral and fractional numbers: COPY writes each cell as the
    Python writer does; a value that needs quoting makes it hand the table back to Python."""
    import dataclasses
    from decimal import Decimal

    from csos.exports import Column, Table, copy_csv, table_csv
    from towns.models import IndicatorValue

    names = ["=SUM(A1)", "-12", "+1e5", "@home", "\tTab", "-\u0663", "", "-.5", "--1", "ok"]
    towns = list(Town.objects.order_by("pk")[: len(names)])
    for town, name in zip(towns, names, strict=True):
        Town.objects.filter(pk=town.pk).update(name_be=name, updated_at=timezone.now())
    values = list(IndicatorValue.objects.order_by("pk")[:3])
    for value, number in zip(values, ("7147.0000", "7.5000", "-0.2500"), strict=True):
        IndicatorValue.objects.filter(pk=value.pk).update(value=Decimal(number))
    pks = [t.pk for t in towns]
    table = Table(
        "hostile",
        "Hostile cells",
        lambda: Town.objects.filter(pk__in=pks).order_by("-pk"),
        (
            Column("id", "integer", "Id."),
            Column("name_be", "string", "A hostile name."),
            Column("population", "integer", "Population."),
        ),
        "id",
    )
    flat = dataclasses.replace(table, flat=True)
    assert copy_csv(flat) == table_csv(table)
    assert b"'=SUM(A1)" in table_csv(table) and b",-12," in table_csv(table)
    assert b"'-\xd9\xa3" in table_csv(table)  # a non-ASCII digit is not a plain number
    numbers = Table(
        "numbers",
        "Numbers and booleans",
        lambda: IndicatorValue.objects.filter(pk__in=[v.pk for v in values]).order_by("pk"),
        (
            Column("id", "integer", "Id."),
            Column("value", "number", "Value."),
            Column("is_synthetic", "boolean", "Synthetic."),
        ),
        "id",
    )
    written = copy_csv(dataclasses.replace(numbers, flat=True))
    assert written == table_csv(numbers)
    assert b",7147," in written and b",7.5000," in written and b",-0.2500," in written
    dated = Table(
        "dated",
        "Dates",
        lambda: Appointment.objects.order_by("-start_date", "pk"),
        (
            Column("id", "integer", "Id."),
            Column("start_date", "date", "Start."),
            Column("end_date", "date", "End."),
        ),
        "id",
    )
    assert Appointment.objects.filter(start_date__isnull=False).exists()
    assert copy_csv(dataclasses.replace(dated, flat=True)) == table_csv(dated)
    Town.objects.filter(pk=pks[0]).update(name_be="needs, quoting")
    assert copy_csv(flat) is None
    assert table_csv(flat) == table_csv(table)


def test_a_flat_table_needs_a_lookup_for_every_column():
    import dataclasses

    from csos.exports import TABLES, Column

    table = next(t for t in TABLES if t.flat)
    computed = Column("shown", "string", "A computed column.", lambda obj: str(obj))
    broken = dataclasses.replace(table, columns=(*table.columns, computed))
    with pytest.raises(ValueError, match="needs a lookup"):
        list(broken.records())


def test_popolo_has_an_etag_that_moves_only_with_what_the_viewer_sees():
    """Issue 18: every export carries an ETag that changes only with what the viewer may see.
    The Popolo document is tagged by its content, for each viewer, and kept in the read cache
    per data state (a write of any kind makes a new one)."""
    from governance.cache import clear as clear_read_cache

    clear_read_cache()
    url = "/api/v1/export/popolo.json"
    first = Client().get(url)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    again = Client().get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag
    # A write to a record the public does not see: same document, same tag.
    hidden = CSO.objects.exclude(access_level="public").first()
    assert hidden is not None
    CSO.objects.filter(pk=hidden.pk).update(name_en=hidden.name_en + " (renamed)")
    assert Client().get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    # A write the public sees (made with a queryset update: no updated_at, no signal).
    public = CSO.objects.visible_to(None).first()
    CSO.objects.filter(pk=public.pk).update(name_en="Renamed for the ETag test")
    changed = Client().get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert "Renamed for the ETag test" in changed.content.decode()
