"""The container protocol of every router: ``nodes``, ``len``, ``in``, iteration, ``==``.

A router keeps an immutable state with ``names`` (a tuple, node ``i`` is ``names[i]``)
and ``where`` (a dict name -> index) in ``self._state``; a change replaces the state,
so each of these reads one consistent state.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any, Generic, NoReturn, TypeVar

__all__ = ["N", "Node", "NodeSet"]

#: The node type of a router or balancer: ``HashRing[str]``, ``RoundRobin[Backend]``.
N = TypeVar("N", bound=Hashable)
V = TypeVar("V")


class Node(Generic[V]):
    """A node that carries data: routed by its ``name``, with ``value`` attached.

    Routers and balancers hash a node as ``f"{node}"``. A Node prints as its name,
    equals its name and hashes as it, so:

    - ``HashRing([Node("cache1", client1), ...])`` routes every key exactly as
      ``HashRing(["cache1", ...])`` does;
    - a lookup returns the Node, so ``ring.lookup(key).value`` is the key's client,
      with no second dict to keep in step;
    - ``ring.remove("cache1")``, ``lb.mark_down("cache1")`` and ``"cache1" in ring``
      work by name.

    The value takes no part in routing, equality or hashing. It pickles with the
    node, so a router pickles if its values do.

    Examples
    --------
    >>> from fastring import HashRing, Node
    >>> ring = HashRing([Node("cache1", {"port": 6379}), Node("cache2", {"port": 6380})])
    >>> node = ring.lookup("user:42")
    >>> node.name, node.value["port"]
    ('cache1', 6379)
    >>> ring.lookup("user:42") == HashRing(["cache1", "cache2"]).lookup("user:42")
    True
    """

    __slots__ = ("name", "value")

    name: str
    value: V

    def __init__(self, name: str, value: V) -> None:
        if not isinstance(name, str):
            raise TypeError(f"a Node's name is text, got {type(name).__name__}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "value", value)

    def __setattr__(self, attr: str, value: Any) -> NoReturn:
        raise AttributeError("a Node is immutable: make a new one (a router holds it by name)")

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.value!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Node):
            return self.name == other.name
        if isinstance(other, str):
            return self.name == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Node, (self.name, self.value))


class NodeSet(Generic[N]):
    """Mixin: ``nodes``, ``len(router)``, ``name in router`` and ``iter(router)``."""

    __slots__ = ()

    _state: Any

    @property
    def nodes(self) -> tuple[N, ...]:
        """Node names in index order (node ``i`` of a batch lookup is ``nodes[i]``)."""
        names: tuple[N, ...] = self._state.names
        return names

    def __len__(self) -> int:
        return len(self._state.names)

    def __contains__(self, name: object) -> bool:
        """True if ``name`` is one of the nodes.

        Examples
        --------
        >>> from fastring import HashRing
        >>> "a" in HashRing(["a", "b"]), "z" in HashRing(["a", "b"]), ["unhashable"] in HashRing(["a"])
        (True, False, False)
        """
        try:
            return name in self._state.where
        except TypeError:  # an unhashable name is in no router
            return False

    def __iter__(self) -> Iterator[N]:
        return iter(self._state.names)

    def _params(self) -> dict[str, Any]:
        """What the router is: nodes (in index order), weights and parameters."""
        raise NotImplementedError  # pragma: no cover - each router says

    def __eq__(self, other: object) -> bool:
        """Routers are equal when they are the same kind with the same nodes (in index
        order), weights and parameters: then every lookup agrees."""
        if type(other) is not type(self):
            return NotImplemented
        return bool(self._params() == other._params())

    __hash__ = None  # type: ignore[assignment]  # equal routers can change: not hashable
