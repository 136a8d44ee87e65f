"""Adding or removing a claim's sources (many-to-many links) is kept in the history too."""

import pytest

from csos.models import CSO
from governance.models import Source
from towns.models import Influence

pytestmark = pytest.mark.django_db


def test_adding_and_removing_a_source_of_a_claim_leaves_events():
    influence = Influence.objects.first()
    extra = Source.objects.create(kind=Source.Kind.DOCUMENT, citation="Extra evidence")
    link_events = Influence.sources.through.pgh_event_model.objects
    before = link_events.count()
    influence.sources.add(extra)
    influence.sources.remove(extra)
    labels = list(link_events.order_by("pgh_id").values_list("pgh_label", flat=True)[before:])
    assert labels == ["link.add", "link.remove"]
    assert link_events.filter(source_id=extra.pk, influence_id=influence.pk).count() == 2


def test_changing_the_towns_a_cso_serves_leaves_events():
    cso = CSO.objects.filter(towns__isnull=False).first()
    town = cso.towns.first()
    events = CSO.towns.through.pgh_event_model.objects
    cso.towns.remove(town)
    assert events.filter(pgh_label="link.remove", cso_id=cso.pk, town_id=town.pk).exists()
