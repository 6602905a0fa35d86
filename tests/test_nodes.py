"""Nodes that carry data: fastring.Node, NamedTuples and frozen dataclasses, on every
router and balancer, in both twins."""

import pickle
from dataclasses import dataclass, field
from typing import NamedTuple

import pytest
import redis

from fastring import (
    ConsistentBalancer, HashRing, JumpRouter, LeastConnections, Maglev, MementoRouter, Node, PeakEWMA,
    PowerOfTwoChoices, RandomChoice, Rendezvous, RoundRobin,
)

pytestmark = pytest.mark.usefixtures("twin")

KEYS = [f"user:{i}" for i in range(300)]
ROUTERS = [HashRing, Maglev, Rendezvous, MementoRouter, JumpRouter]
BALANCERS = [RoundRobin, RandomChoice, LeastConnections, PowerOfTwoChoices, PeakEWMA]


class Server(NamedTuple):
    host: str
    port: int


@dataclass(frozen=True)
class Backend:
    host: str
    port: int
    client: object = field(default=None, compare=False, repr=False)  # not in the label


def test_node_is_its_name_with_a_value():
    node = Node("cache1", {"port": 6379})
    assert str(node) == f"{node}" == "cache1" and node.value == {"port": 6379}
    assert node == "cache1" == node and node == Node("cache1", "other") and node != "cache2"
    assert hash(node) == hash("cache1")
    assert {node: 1}["cache1"] == 1
    with pytest.raises(AttributeError, match="immutable"):
        node.value = 2
    again = pickle.loads(pickle.dumps(node))
    assert again == node and again.value == {"port": 6379}
    with pytest.raises(TypeError, match="name is text"):
        Node(5, None)


@pytest.mark.parametrize("cls", ROUTERS)
def test_routers_route_nodes_as_their_names(cls):
    names = ["cache1", "cache2", "cache3"]
    nodes = [Node(name, {"index": i}) for i, name in enumerate(names)]
    plain, rich = cls(names), cls(nodes)
    assert rich.lookup_many(KEYS).tolist() == plain.lookup_many(KEYS).tolist()
    for key in KEYS[:50]:
        node = rich.lookup(key)
        assert isinstance(node, Node) and node.name == plain.lookup(key)
        assert node.value["index"] == names.index(node.name)
    assert "cache2" in rich
    rich.remove("cache3")  # by name
    assert rich.nodes == tuple(nodes[:2])


@pytest.mark.parametrize("cls", [HashRing, Maglev, Rendezvous])
def test_weighted_routers_take_a_mapping_of_nodes(cls):
    weights = {"a": 1, "b": 3}
    rich = cls({Node(name, name.upper()): w for name, w in weights.items()})
    assert rich.lookup_many(KEYS).tolist() == cls(weights).lookup_many(KEYS).tolist()
    assert rich.lookup("k").value == rich.lookup("k").name.upper()


@pytest.mark.parametrize("cls", BALANCERS)
def test_balancers_lease_nodes_and_take_names(cls):
    lb = cls([Node("a", 1), Node("b", 2)])
    lb.mark_down("a")
    for _ in range(5):
        with lb.acquire() as node:
            assert node == "b" and node.value == 2
    assert lb.in_flight == {"a": 0, "b": 0}


def test_consistent_balancer_over_a_ring_of_nodes():
    ring = HashRing([Node("a", 1), Node("b", 2), Node("c", 3)])
    lb = ConsistentBalancer(ring)
    with lb.acquire("user:1") as node:
        assert node is ring.lookup("user:1")


@pytest.mark.parametrize("cls", ROUTERS)
def test_namedtuple_and_dataclass_nodes_route_by_their_text(cls):
    servers = [Server("10.0.0.1", 6379), Server("10.0.0.2", 6379)]
    backends = [Backend("10.0.0.1", 6379, client=object()), Backend("10.0.0.2", 6379, client=object())]
    by_text = cls([str(s) for s in servers]).lookup_many(KEYS).tolist()
    assert cls(servers).lookup_many(KEYS).tolist() == by_text
    assert cls(backends).lookup_many(KEYS).tolist() == cls([str(b) for b in backends]).lookup_many(KEYS).tolist()
    assert cls(backends).lookup("k").client is not None


def test_a_redis_client_rides_on_its_node():
    # redis.Redis connects on its first command: none is sent here.
    clients = {name: redis.Redis(host="127.0.0.1", port=port) for name, port in (("r1", 6390), ("r2", 6391))}
    ring = HashRing([Node(name, client) for name, client in clients.items()])
    for key in KEYS[:20]:
        node = ring.lookup(key)
        assert node.value is clients[node.name]
