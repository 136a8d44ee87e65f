"""Quick entry on a town's workspace (towns/workspace.py): short rows for every kind of record
of a profile, saved at once through the services.

Each row is a small form (:class:`RowForm`); a row that is one record names its model and the
default :meth:`RowForm.save` creates it. Rows that need another record (an appointment's new
person or post, an influence's new group) create it first. Every new record starts with the
research team's entry defaults (:mod:`governance.entry`) and cites the working source
(:func:`create_record`). Sections of rows are registered by app (:func:`register_section`):
``csos`` adds its own without ``towns`` importing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from governance.access import AccessLevel, PublicationState
from governance.audit import validation_message
from governance.entry import access_choice_label, apply_entry_defaults, source_choices
from governance.models import Confidence, Source
from governance.workflow import may_publish
from towns.models import (
    Activity,
    ActivityField,
    ActivityStatus,
    Appointment,
    GroupKind,
    Indicator,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Origin,
    Person,
    Post,
    PostKind,
    RecruitedFrom,
    Stance,
    Town,
)
from towns.services import adopt_synthetic_twin, research_record_save

SaveService = Callable[..., models.Model]
_sections: dict[str, EntrySection] = {}


# --- Quick entry -----------------------------------------------------------------------------


@dataclass
class EntryContext:
    """What every row saved by one "Save" shares."""

    town: Town
    actor: object
    source: Source | None = None
    access_level: str = ""
    created: list[models.Model] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def create_record(
    ctx: EntryContext,
    instance: models.Model,
    *,
    save_service: SaveService = research_record_save,
    m2m: dict | None = None,
) -> models.Model:
    """Save a new ``instance`` with the team's defaults, citing the working source."""
    apply_entry_defaults(instance)
    if ctx.access_level and hasattr(instance, "access_level"):
        instance.access_level = ctx.access_level
    m2m = dict(m2m or {})
    names = {f.name for f in instance._meta.get_fields()}
    if ctx.source is not None and not isinstance(instance, Source):
        if "sources" in names:
            m2m.setdefault("sources", [ctx.source])
        elif "source" in names and not getattr(instance, "source_id", None):
            instance.source = ctx.source
    if getattr(instance, "state", None) != PublicationState.DRAFT and not (
        "sources" in m2m or getattr(instance, "source_id", None) or isinstance(instance, Source)
    ):
        # A claim without a source can only be a draft (governance.services.claim_check).
        instance.state = PublicationState.DRAFT
    save_service(instance=instance, actor=ctx.actor, via="admin", m2m=m2m)
    ctx.created.append(instance)
    return instance


class RowForm(forms.Form):
    """A row of quick entry. Subclasses define fields and ``save(ctx)``; ``town`` is known."""

    def __init__(self, *args, town: Town, user, **kwargs):
        self.town = town
        self.user = user
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            f.required = False  # an untouched row is skipped; a touched one is checked in clean

    #: Fields a touched row must fill (checked in ``clean``).
    needed: tuple[str, ...] = ()
    #: Pairs (existing, new): one of the two must be given.
    either: tuple[tuple[str, str], ...] = ()

    def clean(self):
        cleaned = super().clean()
        for name in self.needed:
            if cleaned.get(name) in (None, "", []):
                self.add_error(name, gettext("This field is required."))
        for existing, new in self.either:
            if not cleaned.get(existing) and not cleaned.get(new):
                self.add_error(new, gettext("Choose one above or name a new one."))
        return cleaned

    #: For a row that is one record: its model, the attribute each field sets (when it
    #: differs from the field's name), the many-to-many fields and the save service.
    model: type[models.Model] | None = None
    attributes: dict[str, str] = {}
    many: tuple[str, ...] = ()
    save_service: SaveService = staticmethod(research_record_save)
    #: The attribute that names the town (None: the record has no town of its own).
    town_attribute: str | None = "town"

    def save(self, ctx: EntryContext) -> None:
        """Create the row's record from the filled fields, citing the working source."""
        values = {
            self.attributes.get(name, name): value
            for name, value in self.cleaned_data.items()
            if name not in self.many and value not in (None, "", [])
        }
        if self.town_attribute:
            values[self.town_attribute] = ctx.town
        m2m = {
            name: list(self.fields[name].queryset_of(self.cleaned_data[name])) for name in self.many
        }
        create_record(ctx, self.model(**values), save_service=self.save_service, m2m=m2m)


def choice(model_choices, *, blank: str = "—") -> list:
    return [("", blank), *model_choices]


def date_input() -> forms.DateField:
    return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


def confidence_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("confidence"), choices=Confidence.choices, initial=Confidence.MEDIUM
    )


class SourceRow(RowForm):
    kind = forms.ChoiceField(label=_("kind"), choices=choice(Source.Kind.choices))
    citation = forms.CharField(label=_("citation"), max_length=500)
    date = date_input()
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    interview_code = forms.CharField(label=_("interview code"), max_length=32)
    reliability = forms.ChoiceField(
        label=_("reliability"), choices=Source.Reliability.choices, initial=Source.Reliability.C
    )
    needed = ("kind", "citation")

    def save(self, ctx: EntryContext) -> None:
        data = self.cleaned_data
        source = Source(
            kind=data["kind"],
            citation=data["citation"],
            date=data.get("date"),
            url=data.get("url") or "",
            interview_code=data.get("interview_code") or "",
            reliability=data.get("reliability") or Source.Reliability.C,
        )
        create_record(ctx, source)
        ctx.source = source


def persons_of(town: Town):
    return (
        Person.objects.filter(deleted_at__isnull=True)
        .filter(
            Q(appointments__town=town)
            | Q(origin_town=town)
            | Q(memberships__group__influences__town=town)
        )
        .distinct()
        .order_by("name_en")
    )


class AppointmentRow(RowForm):
    person = forms.ChoiceField(label=_("person"))
    new_person = forms.CharField(label=_("or a new person"), max_length=200)
    origin = forms.ChoiceField(label=_("origin"), choices=Origin.choices, initial=Origin.UNKNOWN)
    post = forms.ChoiceField(label=_("post"))
    new_post = forms.CharField(label=_("or a new post"), max_length=200)
    post_kind = forms.ChoiceField(
        label=_("kind of new post"), choices=PostKind.choices, initial=PostKind.OTHER
    )
    start_date = date_input()
    recruited_from = forms.ChoiceField(
        label=_("recruited from"), choices=RecruitedFrom.choices, initial=RecruitedFrom.UNKNOWN
    )
    confidence = confidence_field()
    either = (("person", "new_person"), ("post", "new_post"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = choice((p.pk, p.name_en) for p in persons_of(self.town))
        self.fields["post"].choices = choice((p.pk, p.name_en) for p in Post.objects.all())
        self.fields["start_date"].label = _("start date")

    def save(self, ctx: EntryContext) -> None:
        data = self.cleaned_data
        if data.get("person"):
            person = Person.objects.get(pk=data["person"])
        else:
            origin_town = ctx.town if data.get("origin") == Origin.THIS_TOWN else None
            person = create_record(
                ctx,
                Person(name_en=data["new_person"], origin=data["origin"], origin_town=origin_town),
            )
        if data.get("post"):
            post = Post.objects.get(pk=data["post"])
        else:
            post = Post.objects.filter(name_en=data["new_post"]).first()
            if post is None:
                post = Post(name_en=data["new_post"], kind=data["post_kind"] or PostKind.OTHER)
                research_record_save(instance=post, actor=ctx.actor, via="admin")
        create_record(
            ctx,
            Appointment(
                person=person,
                post=post,
                town=ctx.town,
                start_date=data.get("start_date"),
                recruited_from=data.get("recruited_from") or RecruitedFrom.UNKNOWN,
                confidence=data.get("confidence") or Confidence.MEDIUM,
            ),
        )


class InfluenceRow(RowForm):
    group = forms.ChoiceField(label=_("group"))
    new_group = forms.CharField(label=_("or a new group"), max_length=200)
    kind = forms.ChoiceField(
        label=_("kind of new group (sets its origin)"), choices=choice(GroupKind.choices)
    )
    strength = forms.TypedChoiceField(
        label=_("strength (1-5)"), coerce=int, choices=choice((n, n) for n in range(1, 6))
    )
    start_date = date_input()
    confidence = confidence_field()
    needed = ("strength",)
    either = (("group", "new_group"),)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        groups = InfluenceGroup.objects.filter(deleted_at__isnull=True).order_by("name_en")
        self.fields["group"].choices = choice((g.pk, g.name_en) for g in groups)
        self.fields["start_date"].label = _("start date")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_group") and not cleaned.get("group") and not cleaned.get("kind"):
            self.add_error("kind", gettext("A new group needs its kind."))
        return cleaned

    def save(self, ctx: EntryContext) -> None:
        data = self.cleaned_data
        if data.get("group"):
            group = InfluenceGroup.objects.get(pk=data["group"])
        else:
            group = create_record(ctx, InfluenceGroup(name_en=data["new_group"], kind=data["kind"]))
        create_record(
            ctx,
            Influence(
                group=group,
                town=ctx.town,
                strength=data["strength"],
                start_date=data.get("start_date"),
                confidence=data.get("confidence") or Confidence.MEDIUM,
            ),
        )


def indicator_label(indicator: Indicator) -> str:
    """System, code, name, unit and the legal standard: what a researcher needs to enter it."""
    standard = ""
    if indicator.standard is not None:
        sign = {"minimum": "≥", "maximum": "≤"}.get(indicator.standard_kind, "=")
        standard = f"; {gettext('standard')} {sign} {indicator.standard.normalize():f}"
    return (
        f"{gettext('System')} {indicator.system} · {indicator.name_en} ({indicator.unit}{standard})"
    )


class IndicatorValueRow(RowForm):
    indicator = forms.ChoiceField(label=_("indicator (system · name (unit; standard))"))
    year = forms.IntegerField(label=_("year"), min_value=1990, max_value=2100)
    quarter = forms.TypedChoiceField(
        label=_("quarter"),
        coerce=int,
        choices=[(0, _("whole year")), *((q, f"Q{q}") for q in range(1, 5))],
        initial=0,
    )
    value = forms.DecimalField(label=_("value"), max_digits=16, decimal_places=4)
    needed = ("indicator", "year", "value")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].choices = choice(
            (i.pk, indicator_label(i)) for i in Indicator.objects.order_by("system", "name_en")
        )

    def save(self, ctx: EntryContext) -> None:
        data = self.cleaned_data
        value = IndicatorValue(
            town=ctx.town,
            indicator_id=data["indicator"],
            year=data["year"],
            quarter=data.get("quarter") or 0,
            value=data["value"],
        )
        apply_entry_defaults(value)
        twin = adopt_synthetic_twin(value)
        create_record(ctx, value)
        if twin is not None:
            # The same row now holds the real value; the synthetic one is in its history.
            ctx.notes.append(synthetic_replaced_note(value, twin))


def synthetic_replaced_note(value: IndicatorValue, old_value) -> str:
    if getattr(value, "_pending_revision", None) is not None:
        # The synthetic value was published: the replacement waits for a reviewer.
        text = gettext(
            "The real value %(new)s of %(indicator)s %(period)s will replace the synthetic "
            "%(old)s once a reviewer approves the change (the synthetic one stays in history)."
        )
    else:
        text = gettext(
            "The real value %(new)s of %(indicator)s %(period)s replaced the synthetic %(old)s "
            "(kept in its history)."
        )
    return text % {
        "new": value.value,
        "indicator": value.indicator.code,
        "period": value.period_label,
        "old": old_value,
    }


class ActivityRow(RowForm):
    title = forms.CharField(label=_("title"), max_length=200)
    field_ = forms.ChoiceField(label=_("field"), choices=choice(ActivityField.choices))
    status = forms.ChoiceField(label=_("status"), choices=choice(ActivityStatus.choices))
    la_stance = forms.ChoiceField(
        label=_("LA's observed stance"), choices=Stance.choices, initial=Stance.UNKNOWN
    )
    benefit = forms.IntegerField(label=_("benefit (1-5)"), min_value=1, max_value=5)
    cost = forms.IntegerField(label=_("cost (1-5)"), min_value=1, max_value=5)
    threat = forms.IntegerField(label=_("threat (1-5)"), min_value=1, max_value=5)
    year = forms.IntegerField(label=_("year observed"), min_value=1990, max_value=2100)
    needed = ("title", "field_", "status")
    model = Activity
    attributes = {"field_": "field"}


@dataclass(frozen=True)
class EntrySection:
    """A block of quick-entry rows on the workspace: ``rows`` rows of ``form_class``.

    Sections are saved in ``order`` (sources first, so every row can cite the new one).
    """

    key: str
    title: str
    part: str
    form_class: type[RowForm]
    rows: int = 1
    order: int = 100
    help: str = ""


def register_section(section: EntrySection) -> None:
    _sections[section.key] = section


def sections() -> list[EntrySection]:
    return sorted(_sections.values(), key=lambda s: s.order)


class WorkspaceForm(forms.Form):
    """The form of the whole page: the working source and, for reviewers, the access level."""

    source = forms.ChoiceField(
        label=_("Cite for the records added now"),
        required=False,
        help_text=_(
            "A new source entered above is cited instead. Demo sources are offered only while "
            "no real source exists, marked [demo]."
        ),
    )
    access_level = forms.ChoiceField(
        label=_("Access level of the records added now"),
        required=False,
        help_text=_("Empty: the team's entry defaults for each kind of record."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = choice(source_choices(), blank=gettext("no source"))
        if may_publish(user):
            self.fields["access_level"].choices = choice(
                [(v, access_choice_label(v)) for v in AccessLevel.values],
                blank=gettext("team defaults"),
            )
        else:
            # Who may see a record is decided by reviewers (quality bar 31): the team defaults.
            del self.fields["access_level"]


def formsets_for(town: Town, user, data=None) -> list[tuple[EntrySection, forms.BaseFormSet]]:
    built = []
    for section in sections():
        formset_class = forms.formset_factory(section.form_class, extra=section.rows)
        built.append(
            (
                section,
                formset_class(data, prefix=section.key, form_kwargs={"town": town, "user": user}),
            )
        )
    return built


class EntryRejected(Exception):
    pass


def save_entries(ctx: EntryContext, formsets) -> None:
    """Save every touched row in section order, as one unit: one refusal rolls all back."""
    with transaction.atomic():
        for _section, formset in formsets:
            for form in formset.forms:
                if not form.has_changed():
                    continue
                try:
                    with transaction.atomic():
                        form.save(ctx)
                except ValidationError as error:
                    form.add_error(None, validation_message(error))
                    raise EntryRejected from error


register_section(
    EntrySection(
        "source",
        _("New source"),
        "sources",
        SourceRow,
        rows=1,
        order=10,
        help=_("Cited by every record added with it. An interview needs its anonymised code."),
    )
)
register_section(
    EntrySection(
        "appointments",
        _("Appointments (a new person or post is created with the row)"),
        "governing",
        AppointmentRow,
        rows=2,
        order=20,
    )
)
register_section(
    EntrySection(
        "influences",
        _("Influences (a new group's kind sets its origin)"),
        "influence",
        InfluenceRow,
        rows=2,
        order=30,
    )
)
register_section(
    EntrySection(
        "values",
        _("Indicator values"),
        "indicators",
        IndicatorValueRow,
        rows=5,
        order=40,
        help=_(
            "A real value where a synthetic one exists for the same indicator and period "
            "replaces it; the synthetic one stays in the record's history."
        ),
    )
)
register_section(EntrySection("activities", _("Activities"), "gap", ActivityRow, rows=1, order=50))
