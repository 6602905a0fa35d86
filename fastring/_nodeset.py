"""The container protocol of every router: ``nodes``, ``len``, ``in`` and iteration.

A router keeps an immutable state with ``names`` (a tuple, node ``i`` is ``names[i]``)
and ``where`` (a dict name -> index) in ``self._state``; a change replaces the state,
so each of these reads one consistent state.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NodeSet"]


class NodeSet:
    """Mixin: ``nodes``, ``len(router)``, ``name in router`` and ``iter(router)``."""

    __slots__ = ()

    _state: Any

    @property
    def nodes(self) -> tuple:
        """Node names in index order: node ``i`` of a batch lookup is ``nodes[i]``."""
        return self._state.names

    def __len__(self) -> int:
        return len(self._state.names)

    def __contains__(self, name: Any) -> bool:
        try:
            return name in self._state.where
        except TypeError:  # an unhashable name is in no router
            return False

    def __iter__(self):
        return iter(self._state.names)
