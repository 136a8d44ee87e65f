"""One workspace per town: a researcher builds a town's whole profile from one admin page.

``/admin/towns/town/<id>/workspace/`` shows

* a checklist of the profile's parts (sources; who governs; influence; indicators of both
  systems; the gap; and the parts other apps register, e.g. CSOs and heritage from ``csos``),
  each with its count, how many are drafts or in review, and links to its full lists;
* what is still missing for a typology, the regional-subordination criteria and the strategy
  advice, computed for this researcher (drafts included) by the same scoring as the pages;
* quick entry: short rows for every kind of record of the profile, all on the page and all
  saved with one "Save" (a new person, post or group is created inside the row that needs it;
  every new record cites the working source and starts with the team's entry defaults);
* "Submit this town for review", which sends every draft of the town at once.

Reviewers get a queue of the towns with records in review (``review-queue/``) and a town's
review page that publishes, or sends back, everything the town has in review at once.

Apps to the right of ``towns`` contribute their parts with :func:`register_part` and
:func:`register_section` (``towns`` never imports them). Every write goes through the
services: the part's save service (``research_record_save``, ``csos_record_save``) and the
workflow steps of :mod:`governance.workflow`.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from governance.access import AccessLevel, PublicationState
from governance.audit import validation_message
from governance.entry import access_choice_label, apply_entry_defaults, source_choices
from governance.models import Confidence, Source
from governance.workflow import may_publish, record_publish, record_return_to_draft, record_submit
from towns.models import (
    Activity,
    ActivityField,
    ActivityStatus,
    Appointment,
    GroupKind,
    GroupMembership,
    Indicator,
    IndicatorSystem,
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
    Typology,
)
from towns.services import adopt_synthetic_twin, research_record_save

SaveService = Callable[..., models.Model]

# --- Parts of a profile ----------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One part of a town's profile: its records (model, lookup from the model to the town),
    where to add and list them, and what it is needed for."""

    key: str
    title: str
    order: int
    records: tuple[tuple[type[models.Model], str], ...]
    save_service: SaveService = research_record_save
    needed_for: str = ""
    #: (label, admin URL name of a changelist, query parameter naming the town)
    lists: tuple[tuple[str, str, str], ...] = ()
    #: (label, admin URL name of an add view): opened with ``?town=<id>``
    adds: tuple[tuple[str, str], ...] = ()
    #: An extra line for the checklist (e.g. values per indicator system).
    detail: Callable[[Town], str] | None = None


_parts: dict[str, Part] = {}
_sections: dict[str, EntrySection] = {}
_summaries: list[Callable] = []


def register_part(part: Part) -> None:
    _parts[part.key] = part


def extend_part(key: str, records: tuple[tuple[type[models.Model], str], ...]) -> None:
    """Add records of another app to a part (e.g. the sources its claims cite)."""
    part = _parts[key]
    missing = tuple(r for r in records if r not in part.records)
    _parts[key] = dataclasses.replace(part, records=part.records + missing)


def parts() -> list[Part]:
    return sorted(_parts.values(), key=lambda p: p.order)


def register_summary(summary: Callable) -> None:
    """``summary(town, user) -> list[dict(title, status, lines, synthetic)]``: advice of an app."""
    if summary not in _summaries:
        _summaries.append(summary)


def part_querysets(town: Town) -> list[tuple[Part, type[models.Model], models.QuerySet]]:
    """Every (part, model, queryset of the town's live records of that model in the part)."""
    found = []
    for part in parts():
        for model, path in part.records:
            qs = model.objects.filter(**{path: town}, deleted_at__isnull=True).distinct()
            found.append((part, model, qs))
    return found


def town_records(town: Town, *, state: str) -> list[tuple[Part, models.Model]]:
    """The town's live records in ``state``, each once, with the part it belongs to."""
    seen: set[tuple[str, int]] = set()
    records = []
    for part, model, qs in part_querysets(town):
        for record in qs.filter(state=state).order_by("pk"):
            key = (model._meta.label_lower, record.pk)
            if key not in seen:
                seen.add(key)
                records.append((part, record))
    return records


def checklist(town: Town) -> list[dict]:
    """Per part: counts by state and a line of detail."""
    rows = []
    for part in parts():
        counts: dict[str, int] = defaultdict(int)
        per_model = []
        for model, path in part.records:
            by_state = dict(
                model.objects.filter(**{path: town}, deleted_at__isnull=True)
                .values_list("state")
                .annotate(n=Count("pk", distinct=True))
                .order_by()
            )
            total = sum(by_state.values())
            per_model.append((model._meta.verbose_name_plural, total))
            for state, n in by_state.items():
                counts[state] += n
        total = sum(counts.values())
        rows.append(
            {
                "part": part,
                "total": total,
                "done": total > 0,
                "models": per_model,
                "draft": counts[PublicationState.DRAFT],
                "in_review": counts[PublicationState.IN_REVIEW],
                "published": counts[PublicationState.PUBLISHED],
                "detail": part.detail(town) if part.detail else "",
                "lists": [
                    (label, f"{reverse(url)}?{param}={town.pk}") for label, url, param in part.lists
                ],
                "adds": [(label, f"{reverse(url)}?town={town.pk}") for label, url in part.adds],
            }
        )
    return rows


def indicator_detail(town: Town) -> str:
    rows = (
        IndicatorValue.objects.filter(town=town, deleted_at__isnull=True)
        .values_list("indicator__system", "is_synthetic")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[int, dict[bool, int]] = defaultdict(lambda: defaultdict(int))
    for system, synthetic, n in rows:
        counts[system][synthetic] += n
    parts_ = []
    for system in IndicatorSystem:
        real, synthetic = counts[system.value][False], counts[system.value][True]
        parts_.append(
            gettext("system %(system)d: %(real)d real, %(synthetic)d synthetic")
            % {"system": system.value, "real": real, "synthetic": synthetic}
        )
    return "; ".join(parts_)


def profile_summary(town: Town, user) -> dict:
    """What is missing for a typology, the criteria check and the researcher's flags."""
    from towns.profile import town_profile
    from towns.scoring import MIN_TYPOLOGY_WEIGHT

    profile = town_profile(town, user=user)
    typology = profile.typology
    missing = []
    if typology.label == Typology.INSUFFICIENT:
        weight = profile.balance.own_weight + profile.balance.alien_weight
        missing.append(
            gettext(
                "Influence claims weigh %(weight)g of the %(needed)g a type needs: add influences "
                "(strength × confidence) of the groups that hold power."
            )
            % {"weight": weight, "needed": MIN_TYPOLOGY_WEIGHT}
        )
    if not profile.appointments:
        missing.append(gettext("No current appointment: who holds the key posts is unknown."))
    if not profile.ventures:
        missing.append(gettext("No activity recorded: the gap cannot be assessed."))
    return {
        "typology": Typology(typology.label).label,
        "typology_explanation": typology.explanation,
        "missing": missing,
        "criteria": profile.criteria,
        "flags": profile.flags,
    }


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


def workspace_url(town: Town) -> str:
    return reverse("admin:towns_town_workspace", args=[town.pk])


def workspace_view(model_admin, request, object_id):
    town = get_object_or_404(Town, pk=object_id)
    if not model_admin.has_view_permission(request, town):
        raise PermissionDenied
    may_change = model_admin.has_change_permission(request, town)
    session_key = f"workspace-source-{town.pk}"
    top = WorkspaceForm(
        request.POST if request.method == "POST" else None,
        user=request.user,
        initial={"source": request.session.get(session_key, "")},
    )
    formsets = formsets_for(town, request.user, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        valid = top.is_valid() and all(fs.is_valid() for _s, fs in formsets)
        if valid:
            source_id = top.cleaned_data.get("source")
            ctx = EntryContext(
                town=town,
                actor=request.user,
                source=Source.objects.filter(pk=source_id).first() if source_id else None,
                access_level=top.cleaned_data.get("access_level", ""),
            )
            try:
                save_entries(ctx, formsets)
            except EntryRejected:
                messages.error(
                    request, gettext("Nothing was saved: correct the rows marked below.")
                )
            else:
                if ctx.source is not None:
                    request.session[session_key] = str(ctx.source.pk)
                report_created(request, ctx)
                return HttpResponseRedirect(workspace_url(town))
        else:
            messages.error(request, gettext("Nothing was saved: correct the rows marked below."))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Workspace of %(town)s") % {"town": town},
        "subtitle": None,
        "opts": Town._meta,
        "original": town,
        "town": town,
        "may_change": may_change,
        "may_publish": may_publish(request.user),
        "checklist": checklist(town),
        "profile": profile_summary(town, request.user),
        "summaries": [row for summary in _summaries for row in summary(town, request.user)],
        "top": top,
        "formsets": formsets,
        "drafts": len(town_records(town, state=PublicationState.DRAFT)),
        "pending_revisions": len(pending_revisions_of(town)),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/towns/workspace.html", context)


def report_created(request, ctx: EntryContext) -> None:
    if not ctx.created:
        messages.info(request, gettext("Nothing to save: every row was empty."))
        return
    kinds: dict[str, int] = defaultdict(int)
    for record in ctx.created:
        kinds[str(record._meta.verbose_name)] += 1
    listed = ", ".join(f"{n} × {kind}" for kind, n in kinds.items())
    messages.success(
        request,
        ngettext(
            "%(count)d record saved: %(list)s.",
            "%(count)d records saved: %(list)s.",
            len(ctx.created),
        )
        % {"count": len(ctx.created), "list": listed},
    )
    for note in ctx.notes:
        messages.warning(request, note)


# --- Submit, review queue, publish a town ----------------------------------------------------


def revisions_api():
    """The pending-revision service (governance.revisions) when it is installed, else None."""
    try:
        from governance import revisions
    except ImportError:
        return None
    return revisions


def pending_revisions_of(town: Town) -> list:
    api = revisions_api()
    if api is None or not hasattr(api, "pending_revisions"):
        return []
    return list(api.pending_revisions(town=town))


def run_step(records, step, *, actor, comment: str = "") -> tuple[int, list[str]]:
    """Apply a workflow ``step`` to each (part, record); count moves and name each refusal."""
    moved, refused = 0, []
    for part, record in records:
        kwargs = {
            "record": record,
            "actor": actor,
            "via": "admin",
            "save_service": part.save_service,
        }
        if comment:
            kwargs["comment"] = comment
        try:
            with transaction.atomic():
                step(**kwargs)
        except (ValidationError, PermissionDenied) as error:
            text = validation_message(error) if isinstance(error, ValidationError) else str(error)
            refused.append(f"{record._meta.verbose_name} «{record}»: {text}")
        else:
            moved += 1
    return moved, refused


def report_step(request, moved: int, refused: list[str], done: str) -> None:
    if moved:
        messages.success(
            request,
            ngettext("%(count)d record %(done)s.", "%(count)d records %(done)s.", moved)
            % {"count": moved, "done": done},
        )
    for text in refused:
        messages.error(request, gettext("Not changed: %s") % text)
    if not moved and not refused:
        messages.info(request, gettext("Nothing to do."))


def submit_view(model_admin, request, object_id):
    town = get_object_or_404(Town, pk=object_id)
    if request.method != "POST" or not model_admin.has_change_permission(request, town):
        raise PermissionDenied
    drafts = town_records(town, state=PublicationState.DRAFT)
    moved, refused = run_step(drafts, record_submit, actor=request.user)
    report_step(request, moved, refused, gettext("submitted for review"))
    return HttpResponseRedirect(workspace_url(town))


def require_reviewer(request) -> None:
    if not may_publish(request.user):
        raise PermissionDenied


def towns_in_review() -> list[dict]:
    """Towns with records in review or pending revisions, with their counts."""
    per_town: dict[int, set] = defaultdict(set)
    for part in parts():
        for model, path in part.records:
            rows = (
                model.objects.filter(
                    state=PublicationState.IN_REVIEW,
                    deleted_at__isnull=True,
                    **{f"{path}__isnull": False},
                )
                .values_list(path, "pk")
                .distinct()
            )
            for town_id, pk in rows:
                per_town[town_id].add((model._meta.label_lower, pk))
    revisions: dict[int, int] = defaultdict(int)
    api = revisions_api()
    if api is not None and hasattr(api, "pending_revisions"):
        for revision in api.pending_revisions():
            for town_id in getattr(revision, "towns", None) or ():
                revisions[town_id] += 1
    ids = set(per_town) | set(revisions)
    towns = Town.objects.filter(pk__in=ids).select_related("region").order_by("name_en")
    return [
        {
            "town": town,
            "records": len(per_town.get(town.pk, ())),
            "revisions": revisions.get(town.pk, 0),
            "url": reverse("admin:towns_town_review", args=[town.pk]),
        }
        for town in towns
    ]


def review_queue_view(model_admin, request):
    require_reviewer(request)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Towns waiting for review"),
        "subtitle": None,
        "opts": Town._meta,
        "rows": towns_in_review(),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/governance/review_queue.html", context)


def change_url(record: models.Model) -> str:
    opts = record._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])
    except Exception:
        return ""


def town_review_view(model_admin, request, object_id):
    require_reviewer(request)
    town = get_object_or_404(Town, pk=object_id)
    if request.method == "POST":
        comment = request.POST.get("comment", "").strip()[:500]
        records = town_records(town, state=PublicationState.IN_REVIEW)
        if "send_back" in request.POST:
            moved, refused = run_step(
                records, record_return_to_draft, actor=request.user, comment=comment
            )
            report_step(request, moved, refused, gettext("sent back to draft"))
            refused += revisions_step(town, "send_back", request.user, comment, request)
        else:
            moved, refused = run_step(records, record_publish, actor=request.user)
            report_step(request, moved, refused, gettext("published"))
            refused += revisions_step(town, "approve", request.user, comment, request)
        if refused:
            return HttpResponseRedirect(reverse("admin:towns_town_review", args=[town.pk]))
        return HttpResponseRedirect(reverse("admin:towns_town_review_queue"))
    grouped: dict[str, list] = defaultdict(list)
    for part, record in town_records(town, state=PublicationState.IN_REVIEW):
        grouped[str(part.title)].append(
            {
                "kind": record._meta.verbose_name,
                "record": str(record),
                "url": change_url(record),
                "synthetic": getattr(record, "is_synthetic", False),
                "access": record.get_access_level_display(),
            }
        )
    revisions = pending_revisions_of(town)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Review of %(town)s") % {"town": town},
        "subtitle": None,
        "opts": Town._meta,
        "town": town,
        "groups": dict(grouped),
        "count": sum(len(v) for v in grouped.values()),
        "revisions": revisions,
        "workspace_url": workspace_url(town),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/governance/review_queue_town.html", context)


def revisions_step(town: Town, action: str, actor, comment: str, request) -> list[str]:
    """Approve (or send back) the town's pending revisions through governance.revisions."""
    api = revisions_api()
    revisions = pending_revisions_of(town)
    if not revisions:
        return []
    refused = []
    try:
        if action == "approve":
            api.approve_all(revisions, by=actor)
        else:
            for revision in revisions:
                api.send_back(revision, by=actor, comment=comment or gettext("Sent back."))
    except (ValidationError, PermissionDenied) as error:
        text = validation_message(error) if isinstance(error, ValidationError) else str(error)
        refused.append(text)
        messages.error(request, gettext("Changes not reviewed: %s") % text)
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d pending change reviewed.",
                "%(count)d pending changes reviewed.",
                len(revisions),
            )
            % {"count": len(revisions)},
        )
    return refused


# --- The parts of the local-authority side -----------------------------------------------------

register_part(
    Part(
        key="sources",
        title=_("Sources"),
        order=10,
        records=(
            (Source, "indicator_values__town"),
            (Source, "influence__town"),
            (Source, "appointment__town"),
            (Source, "activity__town"),
            (Source, "person__appointments__town"),
            (Source, "influencegroup__influences__town"),
        ),
        needed_for=_("every claim: a claim without a source stays a draft"),
        lists=((_("all sources"), "admin:governance_source_changelist", "q"),),
        adds=((_("add a source"), "admin:governance_source_add"),),
    )
)
register_part(
    Part(
        key="governing",
        title=_("Persons, posts and appointments"),
        order=20,
        records=((Appointment, "town"), (Person, "appointments__town")),
        needed_for=_("who governs (the key posts and where their holders come from)"),
        lists=((_("appointments"), "admin:towns_appointment_changelist", "town__id__exact"),),
        adds=((_("add an appointment"), "admin:towns_appointment_add"),),
    )
)
register_part(
    Part(
        key="influence",
        title=_("Influence groups and influences"),
        order=30,
        records=(
            (Influence, "town"),
            (InfluenceGroup, "influences__town"),
            (GroupMembership, "group__influences__town"),
        ),
        needed_for=_("the influence balance and the typology"),
        lists=((_("influences"), "admin:towns_influence_changelist", "town__id__exact"),),
        adds=((_("add an influence"), "admin:towns_influence_add"),),
    )
)
register_part(
    Part(
        key="indicators",
        title=_("Indicator values (both systems)"),
        order=40,
        records=((IndicatorValue, "town"),),
        needed_for=_("what is governed, and the regional-subordination criteria"),
        lists=(
            (_("indicator values"), "admin:towns_indicatorvalue_changelist", "town__id__exact"),
        ),
        adds=((_("add an indicator value"), "admin:towns_indicatorvalue_add"),),
        detail=indicator_detail,
    )
)
register_part(
    Part(
        key="gap",
        title=_("Activities in the gap"),
        order=50,
        records=((Activity, "town"),),
        needed_for=_("the venture assessment and strategy options 2 and 3"),
        lists=((_("activities"), "admin:towns_activity_changelist", "town__id__exact"),),
        adds=((_("add an activity"), "admin:towns_activity_add"),),
    )
)

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


# --- Wiring into the town admin --------------------------------------------------------------


def workspace_urls(model_admin) -> list:
    from django.urls import path

    wrap = model_admin.admin_site.admin_view
    return [
        path(
            "review-queue/",
            wrap(lambda request: review_queue_view(model_admin, request)),
            name="towns_town_review_queue",
        ),
        path(
            "<path:object_id>/workspace/",
            wrap(lambda request, object_id: workspace_view(model_admin, request, object_id)),
            name="towns_town_workspace",
        ),
        path(
            "<path:object_id>/workspace/submit/",
            wrap(lambda request, object_id: submit_view(model_admin, request, object_id)),
            name="towns_town_workspace_submit",
        ),
        path(
            "<path:object_id>/review/",
            wrap(lambda request, object_id: town_review_view(model_admin, request, object_id)),
            name="towns_town_review",
        ),
    ]


def workspace_link(town: Town):
    from django.utils.html import format_html

    return format_html('<a href="{}">{}</a>', workspace_url(town), gettext("Workspace"))
