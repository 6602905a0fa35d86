"""One rule per concept, everywhere (see fastring._params): how nodes are given, what
a count means, and which objects may start empty."""

import pytest

from fastring import (
    ConsistentBalancer, HashRing, JumpRouter, LeastConnections, Maglev, MementoRouter, NoAvailableNode, PeakEWMA,
    PowerOfTwoChoices, RandomChoice, Rendezvous, RoundRobin, SmoothWeightedRoundRobin, WeightedSampler,
)

pytestmark = pytest.mark.usefixtures("twin")

ROUTERS = [HashRing, Maglev, Rendezvous, MementoRouter, JumpRouter]
WEIGHTED_ROUTERS = [HashRing, Maglev, Rendezvous]
BALANCERS = [RoundRobin, RandomChoice, LeastConnections, PowerOfTwoChoices, PeakEWMA]
NAMES_OF = {
    **{cls: (lambda obj: obj.nodes) for cls in ROUTERS + BALANCERS},
    SmoothWeightedRoundRobin: lambda obj: obj.names,
    WeightedSampler: lambda obj: obj.names,
}
EVERYTHING = ROUTERS + BALANCERS + [SmoothWeightedRoundRobin, WeightedSampler]


@pytest.mark.parametrize("cls", EVERYTHING)
def test_a_count_is_the_nodes_0_to_n_minus_1(cls):
    obj = cls(4)
    assert NAMES_OF[cls](obj) == (0, 1, 2, 3)
    assert NAMES_OF[cls](cls([0, 1, 2, 3])) == (0, 1, 2, 3)


@pytest.mark.parametrize("cls", EVERYTHING)
def test_a_list_is_names_and_a_mapping_is_weights(cls):
    assert NAMES_OF[cls](cls(["a", "b"])) == ("a", "b")
    if cls not in (MementoRouter, JumpRouter):  # these take no weights
        assert NAMES_OF[cls](cls({"a": 1, "b": 3})) == ("a", "b")


@pytest.mark.parametrize("cls", EVERYTHING)
@pytest.mark.parametrize("bad", [True, -1, 2**40, 2.0])
def test_bad_counts_are_refused(cls, bad):
    with pytest.raises((TypeError, ValueError)):
        cls(bad)


def test_the_sampler_alone_reads_numbers_as_weights():
    assert WeightedSampler([1, 3]).names == (0, 1)
    assert WeightedSampler([1, 3]).probabilities.tolist() == [0.25, 0.75]
    assert WeightedSampler(["a", "b"]).probabilities.tolist() == [0.5, 0.5]
    with pytest.raises(TypeError, match="either weights, all numbers, or names"):
        WeightedSampler(["a", 2])
    with pytest.raises(ValueError, match="duplicate"):
        WeightedSampler(["a", "a"])


@pytest.mark.parametrize("cls", ROUTERS)
def test_routers_start_empty_and_raise_until_they_have_a_node(cls):
    for empty in ([], 0):
        router = cls(empty)
        assert router.nodes == ()
        with pytest.raises(LookupError):
            router.lookup("k")
    router.add("a")
    assert router.lookup("k") == "a"


def test_a_consistent_balancer_starts_empty_and_follows_its_router():
    ring = HashRing([])
    lb = ConsistentBalancer(ring)
    with pytest.raises(NoAvailableNode, match="no nodes"):
        lb.acquire("k")
    ring.add("a")
    with lb.acquire("k") as node:
        assert node == "a"


@pytest.mark.parametrize("cls", BALANCERS + [SmoothWeightedRoundRobin, WeightedSampler])
def test_what_cannot_gain_nodes_needs_one(cls):
    for empty in ([], {}, 0):
        with pytest.raises(ValueError, match="no nodes|empty"):
            cls(empty)
