"""Every router, balancer, sampler and SWRR pickles, in both twins, and crosses to a
worker process: the copy has the same nodes, weights and settings, and starts fresh."""

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import fastring
from fastring import (
    ConsistentBalancer, HashRing, JumpRouter, LeastConnections, Maglev, MementoRouter, PeakEWMA,
    PowerOfTwoChoices, RandomChoice, Rendezvous, RoundRobin, SmoothWeightedRoundRobin, WeightedSampler,
)
from fastring.compat import uhashring as compat

NODES = {"a": 1, "b": 2, "c": 1}
KEYS = [f"k{i}" for i in range(200)]


class Clock:
    """A picklable clock that tests move by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def routers():
    memento = MementoRouter(["a", "b", "c", "d"])
    memento.remove("b")
    return [HashRing(NODES), HashRing(NODES, compat="ketama"), Maglev(NODES, table_size=251), Rendezvous(NODES),
            memento, JumpRouter(["a", "b", "c"])]


def balancers():
    clock = Clock()
    return [
        RoundRobin(NODES, max_fails=3, fail_timeout=2.5, clock=clock),
        RandomChoice(NODES, rng=5),
        LeastConnections(NODES),
        PowerOfTwoChoices(NODES, bias=2.0, rng=np.random.default_rng(1)),
        PeakEWMA(NODES, decay_time=4.0, rng=2, clock=clock),
        ConsistentBalancer(HashRing(NODES), load_factor=1.5, max_fails=2),
    ]


def settings(lb):
    health = lb._health
    return (type(lb), lb.nodes, lb._weight.tolist(), health.max_fails, health.fail_timeout, lb._pickle_kwargs().keys())


def test_routers_round_trip_equal_and_agree(twin):
    for router in routers():
        copy = pickle.loads(pickle.dumps(router))
        assert copy == router and copy is not router
        assert copy.lookup_many(KEYS).tolist() == router.lookup_many(KEYS).tolist()


def test_router_equality_compares_nodes_weights_and_parameters(twin):
    assert Maglev(NODES) == Maglev(dict(NODES)) != Maglev(NODES, table_size=251)
    assert Rendezvous(NODES) != Rendezvous({"a": 1, "b": 3, "c": 1})
    assert Rendezvous(NODES) != Rendezvous(NODES, algorithm="xxh3_64")
    removed = MementoRouter(["a", "b", "c"])
    removed.remove("b")
    assert removed != MementoRouter(["a", "c"])  # other buckets: other answers
    assert JumpRouter(["a", "b"]) == JumpRouter(["a", "b"]) != JumpRouter(["b", "a"])
    assert Maglev(NODES) != Rendezvous(NODES)
    for router in routers():
        with pytest.raises(TypeError, match="unhashable"):
            hash(router)


def test_balancers_pickle_their_configuration_and_start_fresh(twin):
    for lb in balancers():
        held = lb.acquire("k")  # in flight here, not in the copy
        lb.mark_down(lb.nodes[0])
        copy = pickle.loads(pickle.dumps(lb))
        assert settings(copy) == settings(lb)
        assert copy.in_flight == {name: 0 for name in lb.nodes}
        assert copy.available == lb.nodes  # health marks are this process's
        with copy.acquire("k") as node:
            assert node in lb.nodes
        held.release()


def picks(lb, n):
    """The next ``n`` nodes ``lb`` leases, each released at once."""
    out = []
    for _ in range(n):
        with lb.acquire() as node:
            out.append(node)
    return out


def test_round_robin_copy_rotates_as_a_new_one(twin):
    lb = RoundRobin({"a": 5, "b": 1, "c": 1})
    picks(lb, 3)
    copy = pickle.loads(pickle.dumps(lb))
    assert picks(copy, 14) == picks(RoundRobin({"a": 5, "b": 1, "c": 1}), 14)


def test_seeded_random_balancer_copy_continues_the_stream(twin):
    lb = RandomChoice(NODES, rng=11)
    copy = pickle.loads(pickle.dumps(lb))
    assert picks(copy, 50) == picks(lb, 50)
    unseeded = pickle.loads(pickle.dumps(RandomChoice(NODES)))
    assert unseeded._bits.pickled is None  # draws its own stream, not a replay


def test_swrr_and_sampler_round_trip(twin):
    rr = SmoothWeightedRoundRobin({"a": 5, "b": 1, "c": 1}, max_fails=2, fail_timeout=3.0)
    rr.next()
    copy = pickle.loads(pickle.dumps(rr))
    assert copy.weights == rr.weights and (copy._max_fails, copy._fail_timeout) == (2, 3.0)
    assert "".join(copy.next() for _ in range(7)) == "aabacaa"
    sampler = WeightedSampler(NODES)
    again = pickle.loads(pickle.dumps(sampler))
    assert again.names == sampler.names and again.weights.tolist() == sampler.weights.tolist()
    assert again.sample(100, rng=3).tolist() == sampler.sample(100, rng=3).tolist()


def _use_in_worker(blob):
    """In a fresh process: load the objects and use each one."""
    out = []
    for obj in pickle.loads(blob):
        if hasattr(obj, "acquire"):
            with obj.acquire("k") as node:
                out.append(node)
        elif isinstance(obj, SmoothWeightedRoundRobin):
            out.append(obj.next_many(5).tolist())
        elif isinstance(obj, WeightedSampler):
            out.append(obj.sample(5, rng=1).tolist())
        elif isinstance(obj, compat.HashRing):
            out.append([obj.get_node(k) for k in KEYS])
        else:
            out.append(obj.lookup_many(KEYS).tolist())
    return fastring.IMPLEMENTATION, out


def test_every_object_crosses_to_a_worker_process():
    objects = routers() + balancers() + [
        SmoothWeightedRoundRobin({"a": 5, "b": 1}), WeightedSampler(NODES), compat.HashRing(NODES),
    ]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        implementation, answers = pool.submit(_use_in_worker, pickle.dumps(objects)).result(timeout=120)
    assert implementation == fastring.IMPLEMENTATION
    here = _use_in_worker(pickle.dumps(objects))[1]
    for obj, theirs, ours in zip(objects, answers, here):
        if hasattr(obj, "acquire"):
            assert theirs in obj.nodes
        else:
            assert theirs == ours, type(obj).__name__
