"""The town workspace: checklist, quick entry of a whole profile, submit, the reviewers' queue."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Count
from django.urls import reverse

from csos.models import CSO, CooperationCase, CSOLink
from governance.access import AccessLevel, PublicationState
from governance.models import EntryDefault, ReviewEvent, Source
from towns.models import (
    Activity,
    Appointment,
    GroupOrigin,
    Indicator,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Person,
    Post,
    Town,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def town():
    """A town without research records yet (the demo gives it synthetic indicator values)."""
    return (
        Town.objects.annotate(n=Count("influences"), c=Count("csos"))
        .filter(n=0, c=0, indicator_values__is_synthetic=True)
        .order_by("-population", "pk")
        .first()
    )


def errors(response) -> list:
    """The row errors of a workspace page that refused a save (for assertion messages)."""
    if response.context is None or "formsets" not in response.context:
        return []
    found = [response.context["top"].errors]
    for _section, formset in response.context["formsets"]:
        found += [f.errors for f in formset.forms if f.errors]
    return found


def url(town, name="workspace"):
    return reverse(f"admin:towns_town_{name}", args=[town.pk])


def management(prefix: str, total: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


ROWS = {"source": 1, "appointments": 2, "influences": 2, "values": 5, "activities": 1}
ROWS_CSOS = {"csos": 2, "links": 1, "cases": 1, "heritage": 1}


def empty_post(**rows) -> dict:
    data = {}
    for prefix, total in {**ROWS, **ROWS_CSOS}.items():
        data.update(management(prefix, total))
    # Untouched rows keep their initial values (as a browser sends them).
    for n in range(2):
        data[f"appointments-{n}-origin"] = "unknown"
        data[f"appointments-{n}-post_kind"] = "other"
        data[f"appointments-{n}-recruited_from"] = "unknown"
        data[f"appointments-{n}-confidence"] = "medium"
        data[f"influences-{n}-confidence"] = "medium"
    for n in range(5):
        data[f"values-{n}-quarter"] = "0"
    data["source-0-reliability"] = "C"
    data["activities-0-la_stance"] = "unknown"
    data["links-0-confidence"] = "medium"
    data.update(rows)
    return data


def indicators(n=5):
    return list(Indicator.objects.order_by("system", "code")[:n])


def profile_post(town) -> dict:
    post = {
        "source-0-kind": "document",
        "source-0-citation": "Decision No. 12 of the district executive committee, 2023",
        "appointments-0-new_person": "Chairman X",
        "appointments-0-origin": "other_region",
        "appointments-0-new_post": "Chairman of the workspace district executive committee",
        "appointments-0-post_kind": "executive_chairman",
        "appointments-0-recruited_from": "central_admin",
        "appointments-1-new_person": "Deputy Y",
        "appointments-1-origin": "this_town",
        "appointments-1-post": str(Post.objects.order_by("pk").first().pk),
        "influences-0-new_group": "Regional executive committee (workspace)",
        "influences-0-kind": "superior_state",
        "influences-0-strength": "5",
        "influences-0-confidence": "high",
        "influences-1-new_group": "Local parish (workspace)",
        "influences-1-kind": "ecclesial",
        "influences-1-strength": "2",
        "activities-0-title": "Repair of the old mill",
        "activities-0-field_": "culture",
        "activities-0-status": "gap",
        "csos-0-name_en": "Workspace heritage club",
        "csos-0-legal_form": "public_association",
        "csos-0-character": "independent",
        "csos-1-name_en": "Workspace youth union branch",
        "csos-1-legal_form": "public_association",
        "csos-1-character": "gongo",
    }
    for n, indicator in enumerate(indicators()):
        post.update(
            {
                f"values-{n}-indicator": str(indicator.pk),
                f"values-{n}-year": "2024",
                f"values-{n}-value": str(10 + n),
            }
        )
    return empty_post(**post)


def test_workspace_lists_every_part_with_counts_and_analysis(researcher_persona, town):
    response = researcher_persona.client.get(url(town))
    assert response.status_code == 200
    keys = [row["part"].key for row in response.context["checklist"]]
    assert keys == ["sources", "governing", "influence", "indicators", "gap", "csos", "heritage"]
    indicators_row = next(r for r in response.context["checklist"] if r["part"].key == "indicators")
    assert indicators_row["total"] == town.indicator_values.count() > 0
    assert "synthetic" in indicators_row["detail"]
    text = response.content.decode()
    assert "Insufficient evidence" in text  # no influence yet: no type
    assert "Influence claims weigh 0" in text
    assert "Strategy advice" in text
    assert "Submit this town for review" in text


def test_town_list_and_change_page_link_to_the_workspace(researcher_persona, town):
    listing = researcher_persona.client.get(
        reverse("admin:towns_town_changelist"), {"q": town.name_en}
    )
    assert url(town) in listing.content.decode()
    change = researcher_persona.client.get(reverse("admin:towns_town_change", args=[town.pk]))
    assert url(town) in change.content.decode()


def test_one_save_enters_the_whole_profile_citing_the_new_source(researcher_persona, town):
    EntryDefault.objects.create(model="towns.influence", access_level=AccessLevel.PUBLIC)
    response = researcher_persona.client.post(url(town), profile_post(town))
    assert response.status_code == 302, errors(response)
    response = researcher_persona.client.get(response["Location"])
    assert "records saved" in str(next(iter(response.context["messages"])))
    source = Source.objects.get(citation__startswith="Decision No. 12")
    assert Appointment.objects.filter(town=town).count() == 2
    assert Influence.objects.filter(town=town).count() == 2
    assert Activity.objects.filter(town=town).count() == 1
    assert CSO.objects.filter(towns=town).count() == 2
    assert IndicatorValue.objects.filter(town=town, year=2024, is_synthetic=False).count() == 5
    for influence in Influence.objects.filter(town=town):
        assert list(influence.sources.all()) == [source]
        # The team's default for influences; the kind set the group's origin.
        assert influence.access_level == AccessLevel.PUBLIC
        assert influence.state == PublicationState.DRAFT
    assert InfluenceGroup.objects.get(name_en__startswith="Local parish").origin == (
        GroupOrigin.OUR_OWN
    )
    assert InfluenceGroup.objects.get(name_en__startswith="Regional executive").origin == (
        GroupOrigin.ALIEN
    )
    # Defaults without a team row: the model's own (restricted).
    assert Person.objects.get(name_en="Chairman X").access_level == AccessLevel.RESTRICTED
    assert Post.objects.filter(name_en__contains="workspace district").exists()
    assert IndicatorValue.objects.filter(town=town, year=2024, source=source).count() == 5
    # The working source is remembered for the next save.
    assert response.context["top"].initial["source"] == str(source.pk)


def test_links_and_cases_name_the_towns_csos(researcher_persona, town):
    researcher_persona.client.post(url(town), profile_post(town))
    club, union = CSO.objects.filter(towns=town).order_by("name_en")
    source = Source.objects.get(citation__startswith="Decision No. 12")
    page = researcher_persona.client.get(url(town))
    assert page.context["top"].initial["source"] == str(source.pk)
    data = empty_post(
        **{
            "source": str(source.pk),
            "links-0-source_cso": str(club.pk),
            "links-0-target_cso": str(union.pk),
            "links-0-kind": "partnership",
            "cases-0-subject": "Festival of the mill",
            "cases-0-la_body": "District executive committee",
            "cases-0-csos": [str(club.pk), str(union.pk)],
            "cases-0-strategy": "3",
            "cases-0-outcome": "success",
            "cases-0-start_year": "2023",
        }
    )
    response = researcher_persona.client.post(url(town), data)
    assert response.status_code == 302, errors(response)
    link = CSOLink.objects.get(source_cso=club, target_cso=union)
    assert list(link.sources.all()) == [source]
    case = CooperationCase.objects.get(town=town, subject="Festival of the mill")
    assert set(case.csos.all()) == {club, union}


def test_a_refused_row_saves_nothing(researcher_persona, town):
    data = profile_post(town)
    data["influences-1-strength"] = ""  # a touched row without its strength
    before = Source.objects.count()
    response = researcher_persona.client.post(url(town), data)
    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    assert Source.objects.count() == before
    assert not Influence.objects.filter(town=town).exists()


def test_a_real_value_replaces_the_synthetic_one_and_says_so(
    researcher_persona, reviewer_persona, town
):
    synthetic = IndicatorValue.objects.filter(town=town, is_synthetic=True, quarter=0).first()
    data = empty_post(
        **{
            "values-0-indicator": str(synthetic.indicator_id),
            "values-0-year": str(synthetic.year),
            "values-0-value": "12345.5",
        }
    )
    response = researcher_persona.client.post(url(town), data)
    assert response.status_code == 302, errors(response)
    response = researcher_persona.client.get(response["Location"])
    texts = [str(m) for m in response.context["messages"]]
    assert any("replace the synthetic" in t for t in texts), texts
    # No duplicate: the real value takes the synthetic one's row.
    same_period = IndicatorValue.objects.filter(
        town=town, indicator=synthetic.indicator, year=synthetic.year, quarter=0
    )
    assert same_period.count() == 1
    if synthetic.state == PublicationState.PUBLISHED:
        # The public keeps the published figure until a reviewer approves the change.
        assert same_period.get().value == synthetic.value
        reviewer_persona.client.post(url(town, "review"), {"publish": "1"})
    replaced = same_period.get()
    assert replaced.pk == synthetic.pk
    assert replaced.value == Decimal("12345.5")
    assert not replaced.is_synthetic
    # The synthetic figure is kept in the row's history.
    from governance.audit import record_history

    history = record_history(model=IndicatorValue, object_id=synthetic.pk)
    olds = {str(c.old) for entry in history for c in entry.changes if c.name == "value"}
    assert any(Decimal(o) == synthetic.value for o in olds if o not in ("", "None")), olds


def test_submit_sends_every_draft_of_the_town_and_the_reviewer_publishes_it(
    researcher_persona, reviewer_persona, town
):
    researcher_persona.client.post(url(town), profile_post(town))
    drafts = Influence.objects.filter(town=town, state=PublicationState.DRAFT).count()
    assert drafts == 2
    response = researcher_persona.client.post(url(town, "workspace_submit"), follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any("submitted for review" in t for t in texts), texts
    assert not Influence.objects.filter(town=town, state=PublicationState.DRAFT).exists()
    assert CSO.objects.filter(towns=town, state=PublicationState.IN_REVIEW).count() == 2
    assert Source.objects.get(citation__startswith="Decision No. 12").state == "in_review"

    # Researchers have no queue; reviewers see the town in it.
    queue = reverse("admin:towns_town_review_queue")
    assert researcher_persona.client.get(queue).status_code == 403
    rows = reviewer_persona.client.get(queue).context["rows"]
    row = next(r for r in rows if r["town"] == town)
    assert row["records"] == 17  # 19 records less the post (reference data) and no link
    review = reviewer_persona.client.get(url(town, "review"))
    assert review.status_code == 200
    assert "Appointment" in review.content.decode()
    response = reviewer_persona.client.post(url(town, "review"), {"publish": "1"})
    assert response.status_code == 302
    assert not Influence.objects.filter(town=town).exclude(state="published").exists()
    assert not CSO.objects.filter(towns=town).exclude(state="published").exists()
    assert IndicatorValue.objects.filter(town=town, year=2024, state="published").count() == 5
    assert ReviewEvent.objects.filter(action="publish", actor=reviewer_persona.user).count() == 17
    rows = reviewer_persona.client.get(queue).context["rows"]
    assert town not in [r["town"] for r in rows]


def test_reviewer_sends_a_town_back_with_a_comment(researcher_persona, reviewer_persona, town):
    researcher_persona.client.post(url(town), profile_post(town))
    researcher_persona.client.post(url(town, "workspace_submit"))
    reviewer_persona.client.post(
        url(town, "review"), {"send_back": "1", "comment": "Check the strengths."}
    )
    influence = Influence.objects.filter(town=town).first()
    assert influence.state == PublicationState.DRAFT
    event = ReviewEvent.objects.filter(object_id=str(influence.pk), action="return").first()
    assert event.comment == "Check the strengths."


def test_researcher_cannot_publish_a_town(researcher_persona, town):
    response = researcher_persona.client.post(url(town, "review"), {"publish": "1"})
    assert response.status_code == 403


def test_donor_has_no_workspace(donor_persona, town):
    response = donor_persona.client.get(url(town))
    assert response.status_code in (302, 403)


def test_workspace_runs_a_bounded_number_of_queries(
    researcher_persona, town, django_assert_max_num_queries
):
    with django_assert_max_num_queries(90):
        assert researcher_persona.client.get(url(town)).status_code == 200
