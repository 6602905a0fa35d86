"""Selector: the hashing kernels of the twin that ``FASTRING_IMPLEMENTATION`` asks for."""

from typing import TYPE_CHECKING

from ._implementation import IMPLEMENTATION

if TYPE_CHECKING or IMPLEMENTATION == "python":
    from ._hashing_py import (
        ALGORITHM_TABLE,
        TEXT_ONLY_ALGORITHMS,
        arrow_flat,
        first_non_text,
        hash_bytes,
        hash_fixed,
        hash_key,
        hash_objects,
        hash_packed,
        hash_uint64,
        hash_views,
        md5_strings,
        point_hashes,
        vnode_hashes,
        vnode_md5,
    )
else:
    from ._hashing_c import (  # type: ignore[no-redef]
        ALGORITHM_TABLE,
        TEXT_ONLY_ALGORITHMS,
        arrow_flat,
        first_non_text,
        hash_bytes,
        hash_fixed,
        hash_key,
        hash_objects,
        hash_packed,
        hash_uint64,
        hash_views,
        md5_strings,
        point_hashes,
        vnode_hashes,
        vnode_md5,
    )

__all__ = [
    "ALGORITHM_TABLE",
    "TEXT_ONLY_ALGORITHMS",
    "arrow_flat",
    "first_non_text",
    "hash_bytes",
    "hash_fixed",
    "hash_key",
    "hash_objects",
    "hash_packed",
    "hash_uint64",
    "hash_views",
    "md5_strings",
    "point_hashes",
    "vnode_hashes",
    "vnode_md5",
]
