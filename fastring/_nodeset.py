"""The container protocol of every router: ``nodes``, ``len``, ``in`` and iteration.

A router keeps an immutable state with ``names`` (a tuple, node ``i`` is ``names[i]``)
and ``where`` (a dict name -> index) in ``self._state``; a change replaces the state,
so each of these reads one consistent state.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["N", "NodeSet"]

#: The node type of a router or balancer: ``HashRing[str]``, ``RoundRobin[Backend]``.
N = TypeVar("N", bound=Hashable)


class NodeSet(Generic[N]):
    """Mixin: ``nodes``, ``len(router)``, ``name in router`` and ``iter(router)``."""

    __slots__ = ()

    _state: Any

    @property
    def nodes(self) -> tuple[N, ...]:
        """Node names in index order: node ``i`` of a batch lookup is ``nodes[i]``."""
        return self._state.names

    def __len__(self) -> int:
        return len(self._state.names)

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._state.where
        except TypeError:  # an unhashable name is in no router
            return False

    def __iter__(self) -> Iterator[N]:
        return iter(self._state.names)
