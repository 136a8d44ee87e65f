"""Network metrics against small graphs computed by hand."""

import pytest

from csos.network import LEADER_PREFIX, NetworkMetrics, leader_label, network_metrics

# Each row: csos, links, leaders, and the hand-computed
# (csos, links, components, isolated_share, density, brokers).
CASES = {
    "path a-b-c: b holds it together": (
        ["a", "b", "c"],
        [("a", "b"), ("b", "c")],
        None,
        (3, 2, 1, 0.0, 2 / 3, ["b"]),
    ),
    "two disconnected pairs plus an isolate": (
        ["a", "b", "c", "d", "e"],
        [("a", "b"), ("c", "d")],
        None,
        (5, 2, 3, 1 / 5, 2 / 10, []),
    ),
    "triangle: no broker": (
        ["a", "b", "c"],
        [("a", "b"), ("b", "c"), ("c", "a")],
        None,
        (3, 3, 1, 0.0, 1.0, []),
    ),
    "empty": ([], [], None, (0, 0, 0, None, None, [])),
    "single CSO": (["a"], [], None, (1, 0, 1, 1.0, None, [])),
    "two CSOs, no link": (["a", "b"], [], None, (2, 0, 2, 1.0, 0.0, [])),
    # Parallel records (partnership + joint project, and the same pair reversed) count once.
    "parallel and reversed links count once": (
        ["a", "b", "c"],
        [("a", "b"), ("b", "a"), ("a", "b")],
        None,
        (3, 1, 2, 1 / 3, 1 / 3, []),
    ),
    # Star: centre s with four leaves; s is the only broker.
    "star": (
        ["s", "w", "x", "y", "z"],
        [("s", "w"), ("s", "x"), ("s", "y"), ("s", "z")],
        None,
        (5, 4, 1, 0.0, 4 / 10, ["s"]),
    ),
    # Two triangles joined by the bridge c-d: both ends of the bridge are brokers.
    "two triangles joined by a bridge": (
        ["a", "b", "c", "d", "e", "f"],
        [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"), ("e", "f"), ("f", "d")],
        None,
        (6, 7, 1, 0.0, 7 / 15, ["c", "d"]),
    ),
    # Person p leads both a and b, which have no link: p joins them and is a broker.
    "a leader bridging two CSOs becomes a broker": (
        ["a", "b"],
        [],
        {"a": ["p"], "b": ["p"]},
        (2, 0, 1, 0.0, 0.0, [leader_label("p")]),
    ),
    # a-b linked; p leads b and c: the network a-b-p-c hangs on b and on p.
    "a leader extending a path": (
        ["a", "b", "c"],
        [("a", "b")],
        {"b": ["p"], "c": ["p"], "a": ["q"]},
        (3, 1, 1, 0.0, 1 / 3, ["b", leader_label("p")]),
    ),
    # A leader of one CSO only joins nothing: a stays isolated and is no broker.
    "a leader of one CSO changes nothing": (
        ["a", "b"],
        [],
        {"a": ["p"]},
        (2, 0, 2, 1.0, 0.0, []),
    ),
    # Two leaders both lead a and b: neither alone is needed, so neither is a broker.
    "two leaders in parallel: no single point of failure": (
        ["a", "b"],
        [],
        {"a": ["p", "q"], "b": ["p", "q"]},
        (2, 0, 1, 0.0, 0.0, []),
    ),
}


@pytest.mark.parametrize(("csos", "links", "leaders", "expected"), CASES.values(), ids=CASES)
def test_network_metrics_match_hand_computation(csos, links, leaders, expected):
    metrics = network_metrics(csos, links, leaders)
    n, n_links, components, isolated_share, density, brokers = expected
    assert metrics.csos == n
    assert metrics.links == n_links
    assert metrics.components == components
    assert metrics.isolated_share == (
        pytest.approx(isolated_share) if isolated_share is not None else None
    )
    assert metrics.density == (pytest.approx(density) if density is not None else None)
    assert metrics.brokers == brokers
    assert metrics.link_records == len(links)
    assert metrics.explanation


def test_leader_brokers_are_told_apart_from_cso_brokers():
    metrics = network_metrics(["a", "b", "c"], [("a", "b")], {"b": ["7"], "c": ["7"]})
    assert metrics.cso_brokers == ["b"]
    assert metrics.leader_brokers == ["7"]
    assert metrics.brokers == ["b", f"{LEADER_PREFIX}7"]


EXPLANATIONS = {
    "empty": ([], [], "no network to measure"),
    "single": (["a"], [], "density is not defined"),
    "no link at all": (["a", "b", "c"], [], "must start with bilateral contacts"),
    "fragmented": (
        ["a", "b", "c", "d", "e"],
        [("a", "b"), ("c", "d")],
        "3 separate groups and 1 of them works alone",
    ),
    "networked with a broker": (
        ["a", "b", "c"],
        [("a", "b"), ("b", "c")],
        "single point of failure",
    ),
    "networked without a broker": (
        ["a", "b", "c"],
        [("a", "b"), ("b", "c"), ("c", "a")],
        "would survive the loss of any one member",
    ),
    "partly networked": (
        ["a", "b", "c", "d"],
        [("a", "b"), ("c", "d")],
        "nothing yet joins the groups",
    ),
}


@pytest.mark.parametrize(("csos", "links", "phrase"), EXPLANATIONS.values(), ids=EXPLANATIONS)
def test_explanation_says_what_the_structure_means(csos, links, phrase):
    assert phrase in network_metrics(csos, links).explanation


def test_explanation_cites_density_as_a_percentage():
    explanation = network_metrics(["a", "b", "c"], [("a", "b"), ("b", "c")]).explanation
    assert "67% of the possible links between them exist (density 0.67)" in explanation


def test_explanation_mentions_shared_leaders_are_not_links():
    metrics = network_metrics(["a", "b"], [], {"a": ["p"], "b": ["p"]})
    assert "not counted as links" in metrics.explanation
    assert "1 leader acts as a broker" in metrics.explanation


@pytest.mark.parametrize(
    ("csos", "links", "fragmented", "networked"),
    [
        ([], [], False, False),
        (["a"], [], False, False),
        (["a", "b"], [], True, False),
        (["a", "b"], [("a", "b")], False, True),
        (["a", "b", "c", "d"], [("a", "b"), ("c", "d")], False, False),
        (["a", "b", "c", "d", "e"], [("a", "b"), ("c", "d")], True, False),
    ],
)
def test_fragmented_and_networked(csos, links, fragmented, networked):
    metrics = network_metrics(csos, links)
    assert metrics.is_fragmented is fragmented
    assert metrics.is_networked is networked


def test_self_link_is_ignored():
    metrics = network_metrics(["a", "b"], [("a", "a")])
    assert (metrics.links, metrics.components, metrics.link_records) == (0, 2, 1)


def test_duplicate_cso_ids_count_once():
    assert network_metrics(["a", "a", "b"], [("a", "b")]).csos == 2


def test_link_to_unknown_cso_is_an_error():
    with pytest.raises(ValueError, match="'z', which is not among the CSOs"):
        network_metrics(["a"], [("a", "z")])


def test_leaders_of_unknown_cso_is_an_error():
    with pytest.raises(ValueError, match="Leaders are given for 'z'"):
        network_metrics(["a"], [], {"z": ["p"]})


def test_result_is_a_frozen_value():
    metrics = network_metrics(["a"], [])
    assert isinstance(metrics, NetworkMetrics)
    with pytest.raises(AttributeError):
        metrics.csos = 2
