"""Selector: the router kernels of the twin that ``FASTRING_IMPLEMENTATION`` asks for."""

from typing import TYPE_CHECKING

from ._implementation import IMPLEMENTATION

if TYPE_CHECKING or IMPLEMENTATION == "python":
    from ._routers_py import (
        KeyLookup,
        group_rows,
        jump_hash,
        jump_many,
        jump_one,
        jumpback_hash,
        jumpback_many,
        jumpback_one,
        maglev_build,
        maglev_many,
        memento_many,
        neg_log_unit,
        rendezvous_bounded,
        rendezvous_many,
        rendezvous_scores,
    )
else:
    from ._routers_c import (  # type: ignore[no-redef]
        KeyLookup,
        group_rows,
        jump_hash,
        jump_many,
        jump_one,
        jumpback_hash,
        jumpback_many,
        jumpback_one,
        maglev_build,
        maglev_many,
        memento_many,
        neg_log_unit,
        rendezvous_bounded,
        rendezvous_many,
        rendezvous_scores,
    )

__all__ = [
    "KeyLookup",
    "group_rows",
    "jump_hash",
    "jump_many",
    "jump_one",
    "jumpback_hash",
    "jumpback_many",
    "jumpback_one",
    "maglev_build",
    "maglev_many",
    "memento_many",
    "neg_log_unit",
    "rendezvous_bounded",
    "rendezvous_many",
    "rendezvous_scores",
]
