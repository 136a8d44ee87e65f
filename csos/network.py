"""Network and fragmentation of CSOs: pure functions over ids, graph algorithms from networkx.

The research finds civil society in small Belarusian towns fragmented, with no networking and
poor contacts, and success tied to the personalities of leaders. These metrics make that
measurable for a town or a region and say in a sentence what it means for cooperation.

No database access here: ``csos.profile`` reads the rows a viewer may see and passes ids in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import networkx as nx
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

#: Brokers that are leaders (persons) carry this prefix; CSO brokers are the CSO ids as given.
LEADER_PREFIX = "leader:"

#: Shares of isolated CSOs from which a network counts as fragmented (see ``is_fragmented``).
FRAGMENTED_ISOLATED_SHARE = 0.5


def leader_label(leader_id: str) -> str:
    """The broker label of a leader, distinct from any CSO id that has no colon (e.g. a slug)."""
    return f"{LEADER_PREFIX}{leader_id}"


def is_leader_label(label: str) -> bool:
    return label.startswith(LEADER_PREFIX)


@dataclass(frozen=True)
class NetworkMetrics:
    """The structure of a CSO network.

    * ``csos``: number of distinct CSOs;
    * ``links``: number of distinct linked pairs of CSOs (links are undirected; two records
      joining the same pair, e.g. a partnership and a joint project, count once here);
    * ``components``: connected components, counting CSOs that share a leader as connected;
    * ``isolated_share``: CSOs connected to no other CSO (by a link or a shared leader) divided
      by ``csos``; None when there is no CSO;
    * ``density``: distinct links divided by the possible links n(n-1)/2 (``nx.density``) over
      CSOs only, since a shared leader is not a link; None with fewer than two CSOs;
    * ``brokers``: articulation points, i.e. the CSOs, and leaders labelled ``leader:<id>``,
      whose removal splits the network into more pieces; CSOs first, each group sorted;
    * ``explanation``: what this means for cooperation, in plain words;
    * ``link_records``: number of link records passed in (before merging parallel links);
    * ``derived_from_synthetic``: some CSO or link it counts is synthetic (generated for the
      demo), so every figure above is derived from synthetic data (set by csos.profile).
    """

    csos: int
    links: int
    components: int
    isolated_share: float | None
    density: float | None
    brokers: list[str]
    explanation: str
    link_records: int = 0
    derived_from_synthetic: bool = False

    @property
    def cso_brokers(self) -> list[str]:
        return [b for b in self.brokers if not is_leader_label(b)]

    @property
    def leader_brokers(self) -> list[str]:
        """The ids (without prefix) of the leaders who are brokers."""
        return [b.removeprefix(LEADER_PREFIX) for b in self.brokers if is_leader_label(b)]

    @property
    def is_fragmented(self) -> bool:
        """True for two or more CSOs of which at least half are isolated, or that fall into more
        components than half their number (most CSOs have at most one partner)."""
        if self.csos < 2:
            return False
        isolated_share = self.isolated_share or 0.0
        return isolated_share >= FRAGMENTED_ISOLATED_SHARE or self.components * 2 > self.csos

    @property
    def is_networked(self) -> bool:
        """True for two or more CSOs that all belong to one connected network."""
        return self.csos >= 2 and self.components == 1


def network_metrics(
    csos: Iterable[str],
    links: Iterable[tuple[str, str]],
    leaders: dict[str, list[str]] | None = None,
) -> NetworkMetrics:
    """Measure the network of ``csos`` (ids) joined by ``links`` (pairs of ids, undirected).

    ``leaders`` maps a CSO id to the ids of its leaders. Leaders become nodes joined to the CSOs
    they lead, so two CSOs with a common leader are connected and a leader who alone joins two
    parts of the network is a broker. A leader of a single CSO cannot join anything and is left
    out, so that a CSO is never called a broker only because it has a leader of its own.

    Raises ValueError for a link or a leader entry naming a CSO that is not in ``csos``, since
    that is a caller's mistake that would silently distort every figure.
    """
    cso_ids = list(dict.fromkeys(csos))
    known = set(cso_ids)
    link_list = list(links)

    graph = nx.Graph()
    graph.add_nodes_from(("cso", c) for c in cso_ids)
    for a, b in link_list:
        for end in (a, b):
            if end not in known:
                raise ValueError(
                    f"The link {a!r}–{b!r} names {end!r}, which is not among the CSOs."
                )
        # A record joining a CSO to itself says nothing about networking.
        if a != b:
            graph.add_edge(("cso", a), ("cso", b))
    # Counted before leaders are added: density and links are about CSO-CSO ties only.
    distinct_links = graph.number_of_edges()
    density = float(nx.density(graph)) if len(cso_ids) >= 2 else None

    led: dict[str, set[str]] = {}
    for cso, persons in (leaders or {}).items():
        if cso not in known:
            raise ValueError(f"Leaders are given for {cso!r}, which is not among the CSOs.")
        for person in persons:
            led.setdefault(person, set()).add(cso)
    shared_leaders = {person: their for person, their in led.items() if len(their) >= 2}
    for person, their_csos in shared_leaders.items():
        graph.add_edges_from((("leader", person), ("cso", c)) for c in their_csos)

    components = nx.number_connected_components(graph) if cso_ids else 0
    # After dropping single-CSO leaders every leader node touches two CSOs, so a component of
    # one CSO is exactly a node without neighbours.
    isolated = sum(1 for c in cso_ids if graph.degree(("cso", c)) == 0)
    isolated_share = isolated / len(cso_ids) if cso_ids else None

    points = set(nx.articulation_points(graph))
    brokers = sorted(ident for kind, ident in points if kind == "cso") + sorted(
        leader_label(ident) for kind, ident in points if kind == "leader"
    )
    metrics = NetworkMetrics(
        csos=len(cso_ids),
        links=distinct_links,
        components=components,
        isolated_share=isolated_share,
        density=density,
        brokers=brokers,
        explanation="",
        link_records=len(link_list),
    )
    return replace(
        metrics,
        explanation=explain(metrics, isolated=isolated, shared_leaders=bool(shared_leaders)),
    )


def explain(metrics: NetworkMetrics, *, isolated: int, shared_leaders: bool = False) -> str:
    """A plain explanation of ``metrics`` for researchers and donors.

    ``isolated`` is the number of isolated CSOs; ``shared_leaders`` says whether some leader
    leads two or more of the CSOs (such ties join the network but are not links).
    """
    n = metrics.csos
    if n == 0:
        return _(
            "No CSO is recorded here, so there is no network to measure; cooperation would have "
            "to start by finding the people and initiatives that exist."
        )
    if n == 1:
        return _(
            "Only one CSO is recorded here, so there is no network yet (density is not defined "
            "for a single organisation); cooperation starts with this organisation and its "
            "contacts outside the place."
        )
    sentences = []
    if metrics.links == 0 and metrics.components == n:
        sentences.append(
            _(
                "None of the %(n)d CSOs is linked to another: civil society here is fragmented, "
                "so cooperation must start with bilateral contacts between single organisations."
            )
            % {"n": n}
        )
    elif metrics.is_networked:
        sentences.append(
            _(
                "The %(n)d CSOs all belong to one connected network: an initiative can travel "
                "through existing contacts to every organisation."
            )
            % {"n": n}
        )
    elif metrics.is_fragmented:
        sentences.append(
            _(
                "The %(n)d CSOs fall into %(components)d separate groups and %(isolated)s: there "
                "is little networking, so cooperation must start with bilateral contacts and "
                "with bringing the groups together."
            )
            % {
                "n": n,
                "components": metrics.components,
                "isolated": ngettext(
                    "%(count)d of them works alone", "%(count)d of them work alone", isolated
                )
                % {"count": isolated},
            }
        )
    else:
        sentences.append(
            _(
                "The %(n)d CSOs form %(components)d separate groups: each group can carry an "
                "initiative among its members, but nothing yet joins the groups."
            )
            % {"n": n, "components": metrics.components}
        )
    density = metrics.density or 0.0
    sentences.append(
        _("%(percent)d%% of the possible links between them exist (density %(density).2f).")
        % {"percent": round(density * 100), "density": density}
    )
    if shared_leaders:
        sentences.append(
            _(
                "Some leaders lead more than one of these CSOs; such personal ties join the "
                "network but are not counted as links."
            )
        )
    if metrics.brokers:
        cso_count, leader_count = len(metrics.cso_brokers), len(metrics.leader_brokers)
        who = []
        if cso_count:
            who.append(
                ngettext("%(count)d CSO", "%(count)d CSOs", cso_count) % {"count": cso_count}
            )
        if leader_count:
            who.append(
                ngettext("%(count)d leader", "%(count)d leaders", leader_count)
                % {"count": leader_count}
            )
        sentences.append(
            ngettext(
                "%(who)s acts as a broker: it can carry initiatives between parts of the "
                "network, but it is a single point of failure, because if it drops out (a CSO "
                "liquidated, a leader gone) the network splits.",
                "%(who)s act as brokers: they can carry initiatives between parts of the "
                "network, but each is a single point of failure, because if one drops out (a "
                "CSO liquidated, a leader gone) the network splits.",
                len(metrics.brokers),
            )
            % {"who": _(" and ").join(who)}
        )
    elif metrics.is_networked and n >= 3:
        sentences.append(
            _(
                "No single CSO or leader holds the network together, so it would survive the "
                "loss of any one member."
            )
        )
    return " ".join(sentences)
