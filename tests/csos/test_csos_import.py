"""Import and export of CSOs and links: good files apply, any bad row rejects the whole file
with its row and column named, and nothing (no row, no history event) is changed."""

from __future__ import annotations

import io

import openpyxl
import pytest
import tablib
from django.urls import reverse
from pghistory.models import Context

from csos.imports import CSOLinkResource, CSOResource, export_data, run_import
from csos.models import CSO, CSOLink, CSOStatus, LinkKind
from governance.access import AccessLevel, PublicationState

pytestmark = pytest.mark.django_db

CSOEvent = CSO.pgh_event_model
CSOLinkEvent = CSOLink.pgh_event_model

CSO_HEADER = "slug,name_en,legal_form,status,character,founding_year,towns,fields_of_activity"
GOOD_ROW = (
    "h5-new-club,H5 New Club,public_association,registered,independent,2015,"
    "lyepyel;pastavy,youth;sport"
)


def snapshot():
    """Everything an import may touch: rows, many-to-many rows and history."""
    return {
        "csos": list(CSO.objects.order_by("pk").values_list("pk", "slug", "name_en", "status")),
        "towns": CSO.towns.through.objects.count(),
        "fields": CSO.fields_of_activity.through.objects.count(),
        "links": list(CSOLink.objects.order_by("pk").values_list("pk", "kind", "end_date")),
        "cso_events": CSOEvent.objects.count(),
        "link_events": CSOLinkEvent.objects.count(),
        "contexts": Context.objects.count(),
    }


def csv(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# --- Good files ------------------------------------------------------------------------------


def test_good_csv_creates_a_restricted_draft_with_towns_and_fields(researcher_user):
    outcome = run_import(CSOResource, csv(CSO_HEADER, GOOD_ROW), actor=researcher_user)
    assert outcome.ok, outcome.errors
    cso = CSO.objects.get(slug="h5-new-club")
    assert (cso.access_level, cso.state) == (AccessLevel.RESTRICTED, PublicationState.DRAFT)
    assert sorted(cso.towns.values_list("slug", flat=True)) == ["lyepyel", "pastavy"]
    assert sorted(cso.fields_of_activity.values_list("code", flat=True)) == ["sport", "youth"]
    event = CSOEvent.objects.get(pgh_obj_id=cso.pk)
    assert event.pgh_context.metadata["via"] == "import"
    assert event.pgh_context.metadata["user"] == researcher_user.pk


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_good_csv_updates_an_existing_cso_and_keeps_columns_it_lacks():
    before = CSO.objects.get(slug="brsm-lepel")
    outcome = run_import(
        CSOResource, csv("slug,name_en", 'brsm-lepel,"BRSM district branch (Lepel), renamed"')
    )
    assert outcome.ok, outcome.errors
    after = CSO.objects.get(slug="brsm-lepel")
    assert after.name_en == "BRSM district branch (Lepel), renamed"
    assert after.character == before.character
    assert list(after.towns.all()) == list(before.towns.all())


def test_dry_run_shows_each_row_and_changes_nothing():
    before = snapshot()
    outcome = run_import(
        CSOResource,
        csv(
            CSO_HEADER,
            GOOD_ROW,
            "brsm-lepel,BRSM (Lepel),public_association,registered,gongo,2002,lyepyel,youth",
        ),
        dry_run=True,
    )
    assert outcome.ok, outcome.errors
    assert [row.import_type for row in outcome.result.rows] == ["new", "update"]
    assert all(row.diff for row in outcome.result.rows)
    assert snapshot() == before


@pytest.mark.usefixtures("writes_without_review")  # edits published records
def test_a_status_change_by_import_obeys_the_transitions(researcher_user):
    outcome = run_import(
        CSOResource,
        csv(
            "slug,status,liquidation_date,liquidation_grounds",
            "brsm-lepel,liquidated,2021-10-01,Court decision (test).",
        ),
        actor=researcher_user,
    )
    assert outcome.ok, outcome.errors
    cso = CSO.objects.get(slug="brsm-lepel")
    assert cso.status == CSOStatus.LIQUIDATED
    # Re-founded abroad: the file still carries the old date, which is dropped.
    outcome = run_import(
        CSOResource,
        csv(
            "slug,status,liquidation_date,liquidation_grounds",
            "brsm-lepel,abroad,2021-10-01,Court decision (test).",
        ),
    )
    assert outcome.ok, outcome.errors
    cso.refresh_from_db()
    assert (cso.status, cso.liquidation_date) == (CSOStatus.ABROAD, None)
    assert cso.liquidation_grounds.startswith("Liquidated on 2021-10-01")


def test_export_then_import_of_the_same_file_changes_nothing_but_timestamps():
    text = export_data(CSOResource)
    header = text.splitlines()[0]
    assert header == (
        "slug,name_en,name_be,name_ru,legal_form,status,liquidation_date,liquidation_grounds,"
        "character,character_evidence,founding_year,size_band,towns,fields_of_activity"
    )
    assert "brsm-lepel" in text
    rows = list(CSO.objects.order_by("pk").values_list("slug", "name_en", "status"))
    outcome = run_import(CSOResource, text)
    assert outcome.ok, outcome.errors
    assert list(CSO.objects.order_by("pk").values_list("slug", "name_en", "status")) == rows


def test_export_lists_towns_and_fields_by_key_separated_by_semicolons():
    dataset = CSOResource().export(CSO.objects.filter(slug="postavy-folk-crafts"))
    row = dict(zip(dataset.headers, dataset[0], strict=True))
    assert row["towns"] == "pastavy"
    assert row["fields_of_activity"] == "business_support;culture_heritage"


def test_links_import_and_export():
    outcome = run_import(
        CSOLinkResource,
        csv(
            "source,target,kind,start_date,end_date",
            "brsm-lepel,lepel-lake-friends,joint_project,2020-05-01,",
        ),
    )
    assert outcome.ok, outcome.errors
    link = CSOLink.objects.get(source_cso__slug="brsm-lepel", target_cso__slug="lepel-lake-friends")
    assert (link.kind, link.state) == (LinkKind.JOINT_PROJECT, PublicationState.DRAFT)
    text = export_data(CSOLinkResource)
    assert text.splitlines()[0] == "source,target,kind,start_date,end_date,note"
    assert "brsm-lepel,lepel-lake-friends,joint_project,2020-05-01," in text


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_import_with_numbers_and_dates_as_spreadsheets_store_them():
    data = xlsx(
        [
            CSO_HEADER.split(","),
            [
                "h5-xlsx-club",
                "H5 XLSX Club",
                "foundation",
                "registered",
                "other",
                2011,
                "minsk",
                "media",
            ],
        ]
    )
    outcome = run_import(CSOResource, data, file_format="xlsx")
    assert outcome.ok, outcome.errors
    assert CSO.objects.get(slug="h5-xlsx-club").founding_year == 2011


def test_xlsx_export_reads_back():
    data = export_data(CSOLinkResource, file_format="xlsx")
    dataset = tablib.Dataset().load(data, format="xlsx")
    assert dataset.headers == ["source", "target", "kind", "start_date", "end_date", "note"]
    assert len(dataset) == CSOLink.objects.count()


# --- Bad files: all or nothing ---------------------------------------------------------------

BAD_CSO_FILES = {
    "unknown town": (
        csv(
            CSO_HEADER,
            GOOD_ROW,
            "h5-bad,H5 Bad,foundation,registered,other,2011,nowhere-town,media",
        ),
        'Row 2, column "towns": Unknown town slug: nowhere-town',
    ),
    "unknown field": (
        csv(CSO_HEADER, GOOD_ROW, "h5-bad,H5 Bad,foundation,registered,other,2011,minsk,knitting"),
        'Row 2, column "fields_of_activity": Unknown field of activity code: knitting',
    ),
    "bad status": (
        csv(CSO_HEADER, GOOD_ROW, "h5-bad,H5 Bad,foundation,dissolved,other,2011,minsk,media"),
        "Row 2, column \"status\": Value 'dissolved' is not a valid choice.",
    ),
    "bad character": (
        csv(CSO_HEADER, GOOD_ROW, "h5-bad,H5 Bad,foundation,registered,friendly,2011,minsk,media"),
        "Row 2, column \"character\": Value 'friendly' is not a valid choice.",
    ),
    "bad year": (
        csv(CSO_HEADER, GOOD_ROW, "h5-bad,H5 Bad,foundation,registered,other,20x1,minsk,media"),
        'Row 2, column "founding_year": Not a whole number: 20x1',
    ),
    "forbidden transition": (
        csv(
            CSO_HEADER,
            GOOD_ROW,
            "brsm-lepel,BRSM,public_association,informal,gongo,2002,lyepyel,youth",
        ),
        'Row 2, column "status": A CSO cannot go from registered to informal initiative.',
    ),
    "liquidated without date": (
        csv(CSO_HEADER, GOOD_ROW, "h5-bad,H5 Bad,foundation,liquidated,other,2011,minsk,media"),
        'Row 2, column "liquidation_date": Give the date of the liquidation.',
    ),
    "duplicate row": (
        csv(CSO_HEADER, GOOD_ROW, GOOD_ROW),
        "Row 2: This row repeats row 1.",
    ),
    "missing slug": (
        csv(CSO_HEADER, GOOD_ROW, ",H5 No Slug,foundation,registered,other,2011,minsk,media"),
        'Row 2, column "slug": This field cannot be blank.',
    ),
    "unknown column": (
        csv(CSO_HEADER + ",town", GOOD_ROW + ",minsk"),
        "File: Unknown columns: town.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CSO_FILES), ids=list(BAD_CSO_FILES))
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "import"])
def test_a_bad_cso_row_rejects_the_whole_file_and_changes_nothing(case, dry_run):
    text, expected = BAD_CSO_FILES[case]
    before = snapshot()
    outcome = run_import(CSOResource, text, dry_run=dry_run)
    assert not outcome.ok
    assert any(error.startswith(expected) for error in outcome.errors), outcome.errors
    assert snapshot() == before
    assert not CSO.objects.filter(slug="h5-new-club").exists()  # the good row is not applied


LINK_HEADER = "source,target,kind,start_date,end_date"
GOOD_LINK = "brsm-lepel,lepel-lake-friends,joint_project,2020-05-01,"
BAD_LINK_FILES = {
    "unknown CSO": (
        csv(LINK_HEADER, GOOD_LINK, "no-such-cso,brsm-lepel,informal,,"),
        'Row 2, column "source": Unknown CSO slug: no-such-cso',
    ),
    "self-link": (
        csv(LINK_HEADER, GOOD_LINK, "brsm-lepel,brsm-lepel,informal,,"),
        'Row 2, column "target": A link joins two different CSOs',
    ),
    "duplicate row": (
        csv(LINK_HEADER, GOOD_LINK, GOOD_LINK),
        "Row 2: This row repeats row 1.",
    ),
    "mirrored duplicate of an existing link": (
        # The demo has brsm-lepel -> veterans-lepel (joint project, undirected).
        csv(LINK_HEADER, GOOD_LINK, "veterans-lepel,brsm-lepel,joint_project,,"),
        'Row 2, column "target": These CSOs already have a link of this kind',
    ),
    "bad kind": (
        csv(LINK_HEADER, GOOD_LINK, "brsm-lepel,veterans-lepel,friendship,,"),
        "Row 2, column \"kind\": Value 'friendship' is not a valid choice.",
    ),
    "end before start": (
        csv(LINK_HEADER, GOOD_LINK, "brsm-lepel,veterans-lepel,funding,2020-01-01,2019-01-01"),
        "Row 2: The end date cannot be before the start date.",
    ),
    "bad date": (
        csv(LINK_HEADER, GOOD_LINK, "brsm-lepel,veterans-lepel,funding,01.02.2020,"),
        'Row 2, column "start_date"',
    ),
}


@pytest.mark.parametrize("case", list(BAD_LINK_FILES), ids=list(BAD_LINK_FILES))
def test_a_bad_link_row_rejects_the_whole_file_and_changes_nothing(case):
    text, expected = BAD_LINK_FILES[case]
    before = snapshot()
    outcome = run_import(CSOLinkResource, text)
    assert not outcome.ok
    assert any(error.startswith(expected) for error in outcome.errors), outcome.errors
    assert snapshot() == before


def test_a_bad_xlsx_row_rejects_the_whole_file():
    data = xlsx(
        [
            CSO_HEADER.split(","),
            GOOD_ROW.split(","),
            ["h5-bad", "H5 Bad", "foundation", "registered", "other", 2011, "atlantis", "media"],
        ]
    )
    before = snapshot()
    outcome = run_import(CSOResource, data, file_format="xlsx")
    assert 'Row 2, column "towns": Unknown town slug: atlantis' in outcome.errors
    assert snapshot() == before


# --- In the admin ----------------------------------------------------------------------------


def upload(client, model, text: str):
    url = reverse(f"admin:csos_{model._meta.model_name}_import")
    file = io.BytesIO(text.encode())
    file.name = "file.csv"
    return client.post(url, {"import_file": file, "format": "0", "resource": "0"})


def test_admin_dry_run_of_a_bad_file_names_row_and_column_and_offers_no_confirm(
    admin_client_logged,
):
    before = snapshot()
    response = upload(admin_client_logged, CSO, BAD_CSO_FILES["unknown town"][0])
    assert response.status_code == 200
    assert "confirm_form" not in response.context
    body = response.content.decode()
    assert "Unknown town slug: nowhere-town" in body
    assert snapshot() == before


def test_admin_dry_run_then_confirm_imports_the_file(admin_client_logged, researcher_user):
    response = upload(admin_client_logged, CSO, csv(CSO_HEADER, GOOD_ROW))
    assert response.status_code == 200
    confirm = response.context["confirm_form"]
    assert not CSO.objects.filter(slug="h5-new-club").exists()
    data = {name: confirm.initial[name] for name in confirm.fields if name in confirm.initial}
    response = admin_client_logged.post(reverse("admin:csos_cso_process_import"), data, follow=True)
    assert response.status_code == 200
    cso = CSO.objects.get(slug="h5-new-club")
    event = CSOEvent.objects.get(pgh_obj_id=cso.pk)
    assert event.pgh_context.metadata["via"] == "import"
    assert event.pgh_context.metadata["user"] == researcher_user.pk
