"""Writes of the civil-society side: status transitions, history, links."""

import datetime as dt
import itertools

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils import timezone

from csos.models import (
    CSO,
    Character,
    CooperationCase,
    CSOLink,
    CSOStatus,
    LegalForm,
    LinkKind,
    Outcome,
    Strategy,
)
from csos.services import (
    ALLOWED_TRANSITIONS,
    cso_change_status,
    cso_create,
    cso_link_create,
    cso_link_update,
    cso_update,
)
from towns.models import Town

pytestmark = pytest.mark.django_db

CSOEvent = apps.get_model("csos", "CSOEvent")
LIQUIDATION = {"liquidation_date": dt.date(2021, 9, 1), "grounds": "Forced liquidation by court."}


def make_cso(slug="test-cso", status=CSOStatus.REGISTERED, **extra):
    data = {
        "slug": slug,
        "name_en": f"Test CSO {slug}",
        "legal_form": LegalForm.PUBLIC_ASSOCIATION,
        "character": Character.INDEPENDENT,
        "status": status,
        "founding_year": 2005,
        **extra,
    }
    if status == CSOStatus.LIQUIDATED:
        data.setdefault("liquidation_date", dt.date(2021, 8, 1))
        data.setdefault("liquidation_grounds", "Court decision.")
    return cso_create(data=data, actor=None)


def stored(cso):
    return CSO.objects.get(pk=cso.pk)


ALLOWED = sorted((old, new) for old, news in ALLOWED_TRANSITIONS.items() for new in news)
FORBIDDEN = sorted(
    (old, new)
    for old, new in itertools.product(CSOStatus.values, repeat=2)
    if old != new and new not in ALLOWED_TRANSITIONS[old]
)


def test_the_transition_table_is_the_documented_one():
    assert set(ALLOWED) == {
        ("registered", "liquidated"),
        ("registered", "abroad"),
        ("informal", "registered"),
        ("informal", "abroad"),
        ("liquidated", "abroad"),
        ("liquidated", "informal"),
        ("abroad", "registered"),
        ("abroad", "informal"),
    }
    assert set(FORBIDDEN) == {
        ("registered", "informal"),
        ("informal", "liquidated"),
        ("liquidated", "registered"),
        ("abroad", "liquidated"),
    }


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_allowed_transition_changes_the_status(old, new, researcher_user):
    cso = make_cso(status=old)
    extra = LIQUIDATION if new == CSOStatus.LIQUIDATED else {}
    cso_change_status(cso=cso, status=new, actor=researcher_user, **extra)
    assert stored(cso).status == new


@pytest.mark.parametrize(("old", "new"), FORBIDDEN)
def test_forbidden_transition_is_refused_with_a_message_and_writes_nothing(old, new):
    cso = make_cso(status=old)
    events = CSOEvent.objects.filter(pgh_obj=cso).count()
    extra = LIQUIDATION if new == CSOStatus.LIQUIDATED else {}
    with pytest.raises(ValidationError) as caught:
        cso_change_status(cso=cso, status=new, actor=None, **extra)
    message = " ".join(caught.value.message_dict["status"])
    assert f"cannot go from {CSOStatus(old).label.lower()} to {CSOStatus(new).label.lower()}" in (
        message
    )
    assert "it can go to" in message
    assert stored(cso).status == old
    assert CSOEvent.objects.filter(pgh_obj=cso).count() == events


def test_registered_to_informal_explains_that_a_liquidation_comes_first():
    cso = make_cso()
    with pytest.raises(ValidationError, match="record the liquidation first"):
        cso_change_status(cso=cso, status=CSOStatus.INFORMAL)


def test_informal_to_liquidated_explains_that_there_is_no_legal_entity():
    cso = make_cso(status=CSOStatus.INFORMAL)
    with pytest.raises(ValidationError, match="no legal entity"):
        cso_change_status(cso=cso, status=CSOStatus.LIQUIDATED, **LIQUIDATION)


def test_changing_to_the_same_status_is_refused():
    cso = make_cso()
    with pytest.raises(ValidationError, match="already registered"):
        cso_change_status(cso=cso, status=CSOStatus.REGISTERED)


def test_unknown_status_is_refused():
    cso = make_cso()
    with pytest.raises(ValidationError, match="not a CSO status"):
        cso_change_status(cso=cso, status="dissolved")


def test_liquidation_needs_a_date_and_grounds():
    cso = make_cso()
    with pytest.raises(ValidationError) as caught:
        cso_change_status(cso=cso, status=CSOStatus.LIQUIDATED)
    assert set(caught.value.message_dict) == {"liquidation_date", "liquidation_grounds"}
    assert stored(cso).status == CSOStatus.REGISTERED


def test_liquidation_date_cannot_be_in_the_future_or_before_the_founding_year():
    cso = make_cso()
    with pytest.raises(ValidationError, match="future"):
        cso_change_status(
            cso=cso,
            status=CSOStatus.LIQUIDATED,
            liquidation_date=timezone.localdate() + dt.timedelta(days=30),
            grounds="x",
        )
    with pytest.raises(ValidationError, match="founding year"):
        cso_change_status(
            cso=cso, status=CSOStatus.LIQUIDATED, liquidation_date=dt.date(2001, 1, 1), grounds="x"
        )


def test_a_non_liquidation_move_takes_no_liquidation_date():
    cso = make_cso()
    with pytest.raises(ValidationError) as caught:
        cso_change_status(cso=cso, status=CSOStatus.ABROAD, liquidation_date=dt.date(2021, 1, 1))
    assert "liquidation_date" in caught.value.message_dict


def test_a_liquidated_cso_keeps_its_history_links_and_cases(researcher_user):
    cso = make_cso()
    other = make_cso(slug="test-partner")
    link = cso_link_create(
        data={"source_cso": cso, "target_cso": other, "kind": LinkKind.PARTNERSHIP}, actor=None
    )
    case = CooperationCase.objects.create(
        town=Town.objects.get(slug="olshany"),
        la_body="Village council",
        start_year=2019,
        subject="Test case",
        strategy=Strategy.ENRICHMENT,
        outcome=Outcome.PARTIAL,
    )
    case.csos.add(cso)

    cso_change_status(cso=cso, status=CSOStatus.LIQUIDATED, actor=researcher_user, **LIQUIDATION)

    cso = stored(cso)
    assert cso.status == CSOStatus.LIQUIDATED
    assert cso.liquidation_date == dt.date(2021, 9, 1)
    assert cso.liquidation_grounds == "Forced liquidation by court."
    assert CSOLink.objects.filter(pk=link.pk, source_cso=cso).exists()
    assert list(cso.cooperation_cases.all()) == [case]
    events = CSOEvent.objects.filter(pgh_obj=cso).order_by("pgh_id")
    assert [e.pgh_label for e in events] == ["insert", "update"]
    assert [e.status for e in events] == [CSOStatus.REGISTERED, CSOStatus.LIQUIDATED]
    context = events.last().pgh_context.metadata
    assert context["via"] == "service"
    assert context["user"] == researcher_user.pk
    assert context["status_change"] == "registered -> liquidated"
    assert context["status_grounds"] == "Forced liquidation by court."


def test_refounding_abroad_keeps_the_liquidation_in_grounds_and_history():
    cso = make_cso(status=CSOStatus.LIQUIDATED, liquidation_date=dt.date(2021, 8, 30))
    cso_change_status(cso=cso, status=CSOStatus.ABROAD, grounds="Re-registered in Vilnius.")
    cso = stored(cso)
    assert cso.status == CSOStatus.ABROAD
    assert cso.liquidation_date is None
    assert cso.liquidation_grounds == "Liquidated on 2021-08-30: Court decision."
    liquidated = CSOEvent.objects.filter(pgh_obj=cso, status=CSOStatus.LIQUIDATED).get()
    assert liquidated.liquidation_date == dt.date(2021, 8, 30)
    last = CSOEvent.objects.filter(pgh_obj=cso).order_by("pgh_id").last()
    assert last.pgh_context.metadata["status_grounds"] == "Re-registered in Vilnius."


def test_update_follows_the_transitions_too():
    cso = make_cso(status=CSOStatus.INFORMAL)
    with pytest.raises(ValidationError, match="cannot go from informal"):
        cso_update(
            cso=cso,
            data={
                "status": CSOStatus.LIQUIDATED,
                **{"liquidation_date": dt.date(2021, 1, 1), "liquidation_grounds": "x"},
            },
        )
    assert stored(cso).status == CSOStatus.INFORMAL
    cso = stored(cso)
    cso_update(cso=cso, data={"status": CSOStatus.REGISTERED, "name_en": "Now registered"})
    assert (stored(cso).status, stored(cso).name_en) == (CSOStatus.REGISTERED, "Now registered")


def test_update_sets_towns_and_refuses_unknown_fields():
    cso = make_cso()
    town = Town.objects.get(slug="olshany")
    cso_update(cso=cso, data={"towns": [town]})
    assert list(stored(cso).towns.all()) == [town]
    with pytest.raises(ValidationError) as caught:
        cso_update(cso=cso, data={"colour": "red"})
    assert "colour" in caught.value.message_dict


def test_create_refuses_a_liquidated_cso_without_date():
    with pytest.raises(ValidationError) as caught:
        cso_create(
            data={
                "slug": "no-date",
                "name_en": "No date",
                "legal_form": LegalForm.PUBLIC_ASSOCIATION,
                "character": Character.INDEPENDENT,
                "status": CSOStatus.LIQUIDATED,
                "liquidation_grounds": "x",
            }
        )
    assert "liquidation_date" in caught.value.message_dict
    assert not CSO.objects.filter(slug="no-date").exists()


def test_link_to_itself_is_refused_on_the_target_field():
    cso = make_cso()
    with pytest.raises(ValidationError) as caught:
        cso_link_create(data={"source_cso": cso, "target_cso": cso, "kind": LinkKind.INFORMAL})
    assert "two different CSOs" in caught.value.message_dict["target_cso"][0]
    assert not CSOLink.objects.filter(source_cso=cso).exists()


def test_duplicate_and_mirrored_undirected_links_are_refused_but_directed_ones_are_not():
    a, b = make_cso("link-a"), make_cso("link-b")
    cso_link_create(data={"source_cso": a, "target_cso": b, "kind": LinkKind.PARTNERSHIP})
    for source, target in [(a, b), (b, a)]:
        with pytest.raises(ValidationError) as caught:
            cso_link_create(
                data={"source_cso": source, "target_cso": target, "kind": LinkKind.PARTNERSHIP}
            )
        assert "already have a link of this kind" in caught.value.message_dict["target_cso"][0]
    # Umbrella membership has a direction: B in A's umbrella and A in B's are two facts.
    cso_link_create(data={"source_cso": a, "target_cso": b, "kind": LinkKind.UMBRELLA})
    cso_link_create(data={"source_cso": b, "target_cso": a, "kind": LinkKind.UMBRELLA})
    assert CSOLink.objects.filter(source_cso__in=[a, b]).count() == 3


def test_link_update_cannot_turn_a_link_into_a_duplicate():
    a, b, c = make_cso("upd-a"), make_cso("upd-b"), make_cso("upd-c")
    cso_link_create(data={"source_cso": a, "target_cso": b, "kind": LinkKind.FUNDING})
    second = cso_link_create(data={"source_cso": a, "target_cso": c, "kind": LinkKind.FUNDING})
    with pytest.raises(ValidationError):
        cso_link_update(link=second, data={"target_cso": b})
    cso_link_update(link=CSOLink.objects.get(pk=second.pk), data={"note": "renewed"})
    assert CSOLink.objects.get(pk=second.pk).note == "renewed"


def test_end_date_before_start_date_is_refused():
    a, b = make_cso("date-a"), make_cso("date-b")
    with pytest.raises(ValidationError):
        cso_link_create(
            data={
                "source_cso": a,
                "target_cso": b,
                "kind": LinkKind.INFORMAL,
                "start_date": dt.date(2020, 1, 1),
                "end_date": dt.date(2019, 1, 1),
            }
        )
