"""The civil-society parts of a town's workspace (see towns/workspace.py): CSOs, their links and
cooperation cases, heritage, quick entry for each, and the strategy advice.

Registered when the admin loads (csos/admin.py imports this module); towns never imports csos.
"""

from __future__ import annotations

from django import forms
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from csos.models import (
    CSO,
    AssetKind,
    Character,
    CooperationCase,
    CSOLeadership,
    CSOLink,
    CulturalAsset,
    LegalForm,
    LinkKind,
    Outcome,
    Strategy,
)
from csos.services import csos_record_save
from governance.models import Source
from towns.workspace import Part, extend_part, register_part, register_summary
from towns.workspace_entry import (
    EntryContext,
    EntrySection,
    RowForm,
    choice,
    confidence_field,
    create_record,
    register_section,
)


def csos_of(town):
    return CSO.objects.filter(towns=town, deleted_at__isnull=True).order_by("name_en")


def unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "cso"
    slug, n = base, 2
    while CSO._base_manager.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


class CSORow(RowForm):
    name_en = forms.CharField(label=_("name (English)"), max_length=250)
    name_ru = forms.CharField(label=_("name (Russian)"), max_length=250)
    legal_form = forms.ChoiceField(label=_("legal form"), choices=choice(LegalForm.choices))
    character = forms.ChoiceField(label=_("character"), choices=choice(Character.choices))
    founding_year = forms.IntegerField(label=_("founding year"), min_value=1900, max_value=2100)
    needed = ("name_en", "legal_form", "character")

    def save(self, ctx: EntryContext) -> None:
        data = self.cleaned_data
        cso = CSO(
            slug=unique_slug(data["name_en"]),
            name_en=data["name_en"],
            name_ru=data.get("name_ru") or "",
            legal_form=data["legal_form"],
            character=data["character"],
            founding_year=data.get("founding_year"),
        )
        create_record(ctx, cso, save_service=csos_record_save, m2m={"towns": [ctx.town]})


class CSOChoiceField(forms.MultipleChoiceField):
    """CSOs of the town by id; ``queryset_of`` gives the chosen ones (for the row's save)."""

    def queryset_of(self, ids):
        return CSO.objects.filter(pk__in=ids)


class TownCSOsMixin:
    def town_cso_choices(self):
        return [(c.pk, c.name_en) for c in csos_of(self.town)]


class LinkRow(TownCSOsMixin, RowForm):
    source_cso = forms.ChoiceField(label=_("from CSO"))
    target_cso = forms.ChoiceField(label=_("to CSO"))
    kind = forms.ChoiceField(label=_("kind"), choices=choice(LinkKind.choices))
    confidence = confidence_field()
    needed = ("source_cso", "target_cso", "kind")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("source_cso", "target_cso"):
            self.fields[name].choices = choice(self.town_cso_choices())

    model = CSOLink
    attributes = {"source_cso": "source_cso_id", "target_cso": "target_cso_id"}
    save_service = staticmethod(csos_record_save)
    town_attribute = None


class CaseRow(TownCSOsMixin, RowForm):
    subject = forms.CharField(label=_("subject"), max_length=300)
    la_body = forms.CharField(label=_("LA body"), max_length=200)
    csos = CSOChoiceField(label=_("CSOs"))
    strategy = forms.TypedChoiceField(
        label=_("strategy option"), coerce=int, choices=choice(Strategy.choices)
    )
    outcome = forms.ChoiceField(label=_("outcome"), choices=choice(Outcome.choices))
    start_year = forms.IntegerField(label=_("from year"), min_value=1990, max_value=2100)
    needed = ("subject", "la_body", "csos", "strategy", "outcome", "start_year")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["csos"].choices = self.town_cso_choices()

    model = CooperationCase
    many = ("csos",)
    save_service = staticmethod(csos_record_save)


class HeritageRow(RowForm):
    kind = forms.ChoiceField(label=_("kind"), choices=choice(AssetKind.choices))
    name_en = forms.CharField(label=_("name (English)"), max_length=200)
    description = forms.CharField(label=_("description"), max_length=2000)
    needed = ("kind", "name_en")

    model = CulturalAsset
    save_service = staticmethod(csos_record_save)


ADVICE_STATUS = {"open": _("open"), "promising": _("promising"), "closed": _("closed")}


def advice_summary(town, user) -> list[dict]:
    """The strategy advice for the town as the researcher sees it (drafts included)."""
    from csos.advisor import input_labels
    from csos.profile import town_advice

    lines = []
    for advice in town_advice(town, user=user):
        status = ADVICE_STATUS.get(advice.status, advice.status)
        text = f"{advice.label}: {status}. {' '.join(str(r) for r in advice.reasons)}"
        if advice.missing:
            text += " " + gettext("Missing: %s.") % ", ".join(str(m) for m in advice.missing)
        synthetic = getattr(advice, "synthetic_inputs", None)
        if synthetic:
            text += " " + gettext("From synthetic inputs: %s.") % input_labels(synthetic)
        lines.append(text)
    return [{"title": gettext("Strategy advice"), "lines": lines}]


register_part(
    Part(
        key="csos",
        title=_("CSOs, links and cooperation cases"),
        order=60,
        records=(
            (CSO, "towns"),
            (CSOLink, "source_cso__towns"),
            (CooperationCase, "town"),
            (CSOLeadership, "cso__towns"),
        ),
        save_service=csos_record_save,
        needed_for=_("the network (fragmentation) and the strategy advice"),
        lists=(
            (_("CSOs"), "admin:csos_cso_changelist", "towns__id__exact"),
            (_("cooperation cases"), "admin:csos_cooperationcase_changelist", "town__id__exact"),
        ),
        adds=((_("add a CSO"), "admin:csos_cso_add"),),
    )
)
register_part(
    Part(
        key="heritage",
        title=_("Heritage"),
        order=70,
        records=((CulturalAsset, "town"),),
        save_service=csos_record_save,
        needed_for=_("strategy option 3 (enrichment techniques)"),
        lists=((_("cultural assets"), "admin:csos_culturalasset_changelist", "town__id__exact"),),
        adds=((_("add a cultural asset"), "admin:csos_culturalasset_add"),),
    )
)
# Sources cited by the civil-society records of the town count among its sources too.
extend_part(
    "sources",
    (
        (Source, "cso__towns"),
        (Source, "csolink__source_cso__towns"),
        (Source, "cooperationcase__town"),
        (Source, "culturalasset__town"),
    ),
)
register_section(
    EntrySection(
        "csos",
        _("CSOs of this town"),
        "csos",
        CSORow,
        rows=2,
        order=60,
        help=_("Save them first; then they can be linked and named in a cooperation case."),
    )
)
register_section(EntrySection("links", _("Links between CSOs"), "csos", LinkRow, rows=1, order=70))
register_section(EntrySection("cases", _("Cooperation cases"), "csos", CaseRow, rows=1, order=80))
register_section(EntrySection("heritage", _("Heritage"), "heritage", HeritageRow, rows=1, order=90))
register_summary(advice_summary)
