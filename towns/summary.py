"""The summary at the top of a town's dashboard: six statements a donor takes in at a glance.

Who governs (the typology with its margin), the balance of "our own" and "aliens", the check of
a town of regional subordination, the gap, the civil-society landscape and the open
cooperation options: each one sentence and one figure, with the evidence it rests on, whether
it rests on synthetic data, and a link to the section that details it. Built from what the
dashboard already computed (the town's profile and the civil-society panel's context), so it
costs no query of its own; ``towns`` does not import ``csos``: the civil-society figures are
read from the panel context by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from governance.panels import panel_context, panels_for
from governance.templatetags.atlas import percent
from towns.models import ActivityStatus
from towns.profile import TownProfile


@dataclass(frozen=True)
class SummaryItem:
    """One statement of the summary."""

    key: str
    title: str
    figure: str
    sentence: str
    evidence: str
    anchor: str
    synthetic: bool = False
    #: Set when the statement has too little behind it to be read as a finding.
    missing: str = ""


def _claims(n: int) -> str:
    return ngettext("%(n)d claim", "%(n)d claims", n) % {"n": n}


def _from_influence(profile: TownProfile, result, claims: int) -> dict:
    """Link, synthetic marker and gap of a statement computed from the claims of influence."""
    return {
        "anchor": "who-h",
        "synthetic": bool(getattr(result, "derived_from_synthetic", False))
        or any(i.is_synthetic for i in profile.influences),
        "missing": "" if claims else _("No published claim of influence."),
    }


def typology_item(profile: TownProfile) -> SummaryItem:
    result = profile.typology
    claims = getattr(result, "claims", 0) or len(profile.influences)
    sources = getattr(result, "sources", 0)
    evidence = _claims(claims)
    if sources:
        evidence += ", " + ngettext("%(n)d source", "%(n)d sources", sources) % {"n": sources}
    margin = getattr(result, "margin", "")
    return SummaryItem(
        key="typology",
        title=_("Who governs"),
        figure=str(profile.town.get_typology_display()),
        sentence=margin or _("How firm the type is has not been computed yet."),
        evidence=evidence,
        **_from_influence(profile, result, claims),
    )


def balance_item(profile: TownProfile) -> SummaryItem:
    balance = profile.balance
    if balance.own_share is None:
        figure = "—"
        sentence = _("No published influence yet: the balance is unknown, not even.")
    else:
        figure = _("%(own)s our own · %(alien)s aliens") % {
            "own": percent(balance.own_share),
            "alien": percent(balance.alien_share),
        }
        side = _("our own") if balance.own_share >= 0.5 else _("aliens")
        sentence = _("Most of the weighted influence lies with %(side)s.") % {"side": side}
    claims = getattr(balance, "claims", 0) or len(profile.influences)
    return SummaryItem(
        key="balance",
        title=_("Influence balance"),
        figure=figure,
        sentence=sentence,
        evidence=_claims(claims),
        **_from_influence(profile, balance, claims),
    )


def criteria_item(profile: TownProfile) -> SummaryItem:
    criteria = profile.criteria
    holding = sum(1 for c in criteria if c.holds)
    unknown = sum(1 for c in criteria if c.holds is None)
    if unknown:
        sentence = ngettext(
            "%(holding)d of the %(total)d criteria of a town of regional subordination hold; "
            "%(unknown)d cannot be checked yet.",
            "%(holding)d of the %(total)d criteria of a town of regional subordination hold; "
            "%(unknown)d cannot be checked yet.",
            unknown,
        )
    else:
        sentence = _(
            "%(holding)d of the %(total)d criteria of a town of regional subordination hold."
        )
    missing = sorted({m for c in criteria for m in c.missing})
    return SummaryItem(
        key="criteria",
        title=_("Against the standards"),
        figure=f"{holding} / {len(criteria)}",
        sentence=sentence % {"holding": holding, "total": len(criteria), "unknown": unknown},
        evidence=_("Missing: %(figures)s") % {"figures": ", ".join(missing)}
        if missing
        else _("Every figure recorded"),
        anchor="facts-h",
        synthetic=any(getattr(c, "derived_from_synthetic", False) for c in criteria),
    )


def gap_item(profile: TownProfile) -> SummaryItem:
    activities = [a for a, _v in profile.ventures]
    in_gap = sum(1 for a in activities if a.status == ActivityStatus.GAP)
    forbidden = sum(1 for a in activities if a.status == ActivityStatus.FORBIDDEN)
    backed = sum(
        1
        for a, v in profile.ventures
        if a.status == ActivityStatus.GAP and v.likelihood == "likely"
    )
    if activities:
        sentence = _(
            "%(gap)d of %(total)d activities are in the gap, %(forbidden)d forbidden; "
            "the local authority would likely back %(backed)d of those in the gap."
        ) % {"gap": in_gap, "total": len(activities), "forbidden": forbidden, "backed": backed}
    else:
        sentence = _("No activity is published for this town yet.")
    return SummaryItem(
        key="gap",
        title=_("The gap"),
        figure=ngettext("%(n)d activity in the gap", "%(n)d activities in the gap", in_gap)
        % {"n": in_gap},
        sentence=sentence,
        evidence=ngettext("%(n)d activity", "%(n)d activities", len(activities))
        % {"n": len(activities)},
        anchor="gap-h",
        synthetic=any(a.is_synthetic for a in activities),
        missing="" if activities else _("No published activity."),
    )


def _absent(key: str, title: str, sentence: str, missing: str) -> SummaryItem:
    """A civil-society statement when the page has no such data: said, never invented."""
    return SummaryItem(
        key=key,
        title=title,
        figure="—",
        sentence=sentence,
        evidence="",
        anchor="cs-h",
        missing=missing,
    )


def landscape_item(civil_society: dict) -> SummaryItem:
    csos = civil_society.get("town_csos") or []
    network = civil_society.get("network")
    if network is None:
        return _absent(
            "csos",
            _("Civil society"),
            _("No civil-society data is shown on this page."),
            _("No civil-society data."),
        )
    count = network.csos
    if count == 0:
        sentence = _("No organisation serving this town is published yet.")
    elif network.is_networked:
        sentence = _("They form one connected network.")
    elif network.is_fragmented:
        sentence = _("The landscape is fragmented: %(isolated)s of them work alone.") % {
            "isolated": percent(network.isolated_share)
        }
    else:
        sentence = ngettext(
            "They fall into %(n)d connected group.",
            "They fall into %(n)d connected groups.",
            network.components,
        ) % {"n": network.components}
    return SummaryItem(
        key="csos",
        title=_("Civil society"),
        figure=ngettext("%(n)d organisation", "%(n)d organisations", count) % {"n": count},
        sentence=sentence,
        evidence=ngettext("%(n)d link", "%(n)d links", network.links) % {"n": network.links},
        anchor="cs-h",
        synthetic=any(getattr(c, "is_synthetic", False) for c in csos),
        missing="" if count else _("No published organisation."),
    )


def options_item(civil_society: dict) -> SummaryItem:
    advice = civil_society.get("advice")
    if not advice:
        return _absent(
            "options",
            _("Cooperation options"),
            _("The strategy advice is on the town's own page."),
            _("No strategy advice on this page."),
        )
    open_ = [a for a in advice if a.status == "open"]
    promising = [a for a in advice if a.status == "promising"]
    if open_ or promising:
        sentence = _("Open: %(open)s.") % {
            "open": "; ".join(a.label for a in open_ + promising),
        }
    else:
        sentence = _("No option is open on the published evidence.")
    missing = sorted({m for a in advice for m in a.missing})
    return SummaryItem(
        key="options",
        title=_("Cooperation options"),
        figure=_("%(open)d of %(total)d open")
        % {
            "open": len(open_) + len(promising),
            "total": len(advice),
        },
        sentence=sentence,
        evidence=_("Would sharpen it: %(data)s") % {"data": ", ".join(missing)}
        if missing
        else _("Every input recorded"),
        anchor="cs-h",
        synthetic=any(getattr(a, "derived_from_synthetic", False) for a in advice),
    )


def civil_society(request, town, slot: str = "town") -> dict:
    """The civil-society figures of ``town``: the context of the panels another app registered
    for ``slot`` (computed once per request, shared with the panels themselves)."""
    merged: dict = {}
    for panel in panels_for(slot):
        merged.update(panel_context(panel, request, town))
    return merged


def town_summary(profile: TownProfile, *, civil_society: dict) -> list[SummaryItem]:
    """The six statements of the summary, in the order a donor reads them."""
    return [
        typology_item(profile),
        balance_item(profile),
        criteria_item(profile),
        gap_item(profile),
        landscape_item(civil_society),
        options_item(civil_society),
    ]
