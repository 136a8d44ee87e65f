"""One workspace per town: a researcher builds a town's whole profile from one admin page.

``/admin/towns/town/<id>/workspace/`` shows

* a checklist of the profile's parts (sources; who governs; influence; indicators of both
  systems; the gap; and the parts other apps register, e.g. CSOs and heritage from ``csos``),
  each with its count, how many are drafts or in review, and links to its full lists;
* what is still missing for a typology, the regional-subordination criteria and the strategy
  advice, computed for this researcher (drafts included) by the same scoring as the pages;
* quick entry (:mod:`towns.workspace_entry`): short rows for every kind of record of the
  profile, all on the page and all saved with one "Save" (a new person, post or group is
  created inside the row that needs it; every new record cites the working source and starts
  with the team's entry defaults);
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
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from governance.access import PublicationState
from governance.audit import validation_message
from governance.models import Source
from governance.workflow import may_publish, record_publish, record_return_to_draft, record_submit
from towns.models import (
    Activity,
    Appointment,
    GroupMembership,
    IndicatorSystem,
    IndicatorValue,
    Influence,
    InfluenceGroup,
    Person,
    Town,
    Typology,
)
from towns.services import research_record_save
from towns.workspace_entry import (
    EntryContext,
    EntryRejected,
    WorkspaceForm,
    formsets_for,
    save_entries,
)

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
