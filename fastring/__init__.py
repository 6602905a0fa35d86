"""fastring: route keys to nodes, fast and the same way everywhere.

Batched key hashing, consistent hashing and weighted selection with Cython kernels
and a pure-Python twin of every kernel. ``IMPLEMENTATION`` says which twin is live
(set ``FASTRING_IMPLEMENTATION`` to ``cython`` or ``python`` before import to choose).
"""

from ._implementation import IMPLEMENTATION
from ._version import __version__
from .balance import (
    ConsistentBalancer,
    LeastConnections,
    NoAvailableNode,
    PeakEWMA,
    PowerOfTwoChoices,
    RandomChoice,
    RoundRobin,
)
from ._nodeset import Node
from .hashing import ALGORITHMS, hash_key, hash_keys
from .bounded import assign_bounded
from .executor import KeyedExecutor, WorkerLost
from .ring import HashRing
from .pipeline import node_names, split, write_split
from .routers import JumpRouter, Maglev, MementoRouter, Rendezvous, jump_hash, jumpback_hash
from .select import SmoothWeightedRoundRobin, WeightedSampler
from .sharded import ShardedClient

__all__ = [
    "ALGORITHMS",
    "IMPLEMENTATION",
    "ConsistentBalancer",
    "HashRing",
    "LeastConnections",
    "JumpRouter",
    "KeyedExecutor",
    "Maglev",
    "MementoRouter",
    "NoAvailableNode",
    "Node",
    "PeakEWMA",
    "PowerOfTwoChoices",
    "RandomChoice",
    "Rendezvous",
    "RoundRobin",
    "ShardedClient",
    "SmoothWeightedRoundRobin",
    "WeightedSampler",
    "WorkerLost",
    "__version__",
    "assign_bounded",
    "hash_key",
    "hash_keys",
    "jump_hash",
    "jumpback_hash",
    "node_names",
    "split",
    "write_split",
]
