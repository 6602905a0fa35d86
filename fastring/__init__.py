"""fastring: route keys to nodes, fast and the same way everywhere.

Batched key hashing, consistent hashing and weighted selection with Cython kernels
and a pure-Python twin of every kernel. ``IMPLEMENTATION`` says which twin is live
(set ``FASTRING_IMPLEMENTATION`` to ``cython`` or ``python`` before import to choose).
"""

from ._implementation import IMPLEMENTATION
from ._version import __version__
from .hashing import ALGORITHMS, hash_key, hash_keys

__all__ = [
    "ALGORITHMS",
    "IMPLEMENTATION",
    "__version__",
    "hash_key",
    "hash_keys",
]
