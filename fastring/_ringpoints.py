"""A ring's point set: every point of every node, kept sorted, and its snapshots.

``HashRing`` (``ring.py``) owns the nodes and the API; this module owns the points.
Every point, colliding ones included, lives in one sorted set of arrays (position,
node, vnode number). A lookup only ever sees the *live* points (the winner of each
collision); they are packed into an immutable snapshot (the ``RingIndex`` of the live
twin, see ``_ring_c.pyx``) that is swapped in with one attribute assignment, so a
lookup running in another thread sees the old ring or the new one, never a mix.
Changes are incremental: only the points that change are hashed, sorted and merged
into (or masked out of) the sorted arrays.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Optional

import numpy as np

from . import _hashing, _ring
from ._params import frozen

Array = np.ndarray
#: (pos, lo, owner, vnode): a point set's arrays; lo only for 128-bit (uhashring) rings.
Points = tuple[Array, Optional[Array], Array, Array]

MODE_HASH, MODE_KETAMA, MODE_UHASHRING = (_ring.RING_MODES[m] for m in ("hash", "ketama", "uhashring"))
KETAMA_POINTS_PER_VNODE = 4  # one per 4-byte word of the md5 digest

#: Rings of 32-bit points where a key goes to the first point >= its hash (libmemcached's
#: ketama continuum, nginx's ``hash ... consistent``): positions are stored plus one
#: (33 bits), so the kernels' "first point > hash" search serves them unchanged.
SHIFTED_COMPAT = frozenset(("libmemcached", "libmemcached_weighted", "nginx"))

_U64_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)
# The prefix table has 2**bits entries, bits = bit_length(points) + _TABLE_EXTRA_BITS
# (about one point per 2 buckets), at most 2**_TABLE_MAX_BITS entries (16 MiB).
_TABLE_EXTRA_BITS = 1
_TABLE_MAX_BITS = 22


class Config(NamedTuple):
    mode: int
    compat: str | None
    vnodes: int
    algorithm: str  # the key hash, as reported by HashRing.algorithm
    algo: int  # kernel algorithm id (MODE_HASH only)
    keybits: int  # 32 or 64: the width of point and key hashes (high word for 128)


class State:
    """One immutable version of the ring: swapped in whole, never modified."""

    __slots__ = (
        "names", "weights", "labels", "where", "counts",
        "pos", "lo", "owner", "vnode", "index", "live_counts", "reachable",
    )

    def __init__(
        self,
        names: tuple[Any, ...],
        weights: tuple[Any, ...],
        labels: tuple[str, ...],
        counts: tuple[int, ...],
        pos: Array,
        lo: Array | None,
        owner: Array,
        vnode: Array,
        config: Config,
    ) -> None:
        self.names = names  # tuple of node names, in insertion order
        self.weights = weights  # tuple of weights as given (int or float)
        self.labels = labels  # tuple of f"{name}": points hash f"{label}-{vnode}"
        self.where = {name: i for i, name in enumerate(names)}
        self.counts = counts  # tuple: vnodes of each node now on the ring
        # Every point, colliding ones included, sorted by (position, collision rank).
        self.pos = frozen(pos)
        self.lo = None if lo is None else frozen(lo)
        self.owner = frozen(owner)
        self.vnode = frozen(vnode)
        live = _live_mask(self.pos, self.lo)
        live_owner = self.owner[live]
        live_lo = None if self.lo is None else self.lo[live]
        self.live_counts = np.bincount(live_owner, minlength=len(names)).astype(np.int64)
        self.reachable = int(np.count_nonzero(self.live_counts))
        self.index = _make_index(names, self.pos[live], live_lo, live_owner, config)


def _live_mask(pos: np.ndarray, lo: np.ndarray | None) -> np.ndarray:
    """True for the first point of each run of equal positions: the collision winner."""
    live = np.ones(len(pos), dtype=bool)
    if len(pos) > 1:
        same = pos[1:] == pos[:-1]
        if lo is not None:
            same &= lo[1:] == lo[:-1]
        live[1:] = ~same
    return live


def _make_index(names: tuple[Any, ...], pos: Array, lo: Array | None, owner: Array, config: Config) -> _ring.RingIndex:
    """The kernels' snapshot of the live points: prefix table plus padded arrays."""
    size = len(pos)
    keybits = config.keybits
    bits = min(keybits, _TABLE_MAX_BITS, max(1, size.bit_length() + _TABLE_EXTRA_BITS))
    shift = keybits - bits
    table = np.empty(1 << bits, dtype=np.uint32)
    depth = _ring.bucket_starts(pos, shift, table).bit_length()
    pad = 1 << depth  # the search reads up to 2**depth - 1 points past a bucket's start
    pos_ext = np.full(size + pad, _U64_MAX, dtype=np.uint64)
    pos_ext[:size] = pos
    owner_ext = np.full(size + pad, owner[0] if size else 0, dtype=np.int32)
    owner_ext[:size] = owner
    if lo is None:
        lo_ext = np.empty(0, dtype=np.uint64)
    else:
        lo_ext = np.full(size + pad, _U64_MAX, dtype=np.uint64)
        lo_ext[:size] = lo
    for array in (pos_ext, lo_ext, owner_ext, table):
        array.flags.writeable = False
    return _ring.RingIndex(
        names, pos_ext, lo_ext, owner_ext, table, shift, depth, config.mode, config.algo, 0, size
    )


# --------------------------------------------------------------------------- points


def md5_continuum(config: Config, weights: Sequence[Any]) -> bool:
    """True when a libmemcached ring's points come from MD5, 4 per digest (weighted)."""
    return config.compat == "libmemcached_weighted" or (
        config.compat == "libmemcached" and any(w > 1 for w in weights)
    )


def points_per_vnode(config: Config, weights: Sequence[Any]) -> int:
    if config.mode == MODE_KETAMA or md5_continuum(config, weights):
        return KETAMA_POINTS_PER_VNODE
    return 1


def _host_port(label: str) -> tuple[str, str]:
    """``"host:port"`` -> (host, port); no port -> (label, "")."""
    match = re.fullmatch(r"(.*):([0-9]+)", label)
    return (match.group(1), match.group(2)) if match else (label, "")


def _libmemcached_prefix(label: str) -> bytes:
    # update_continuum: "%s-%u" for the default port 11211, else "%s:%u-%u".
    host, port = _host_port(label)
    return f"{host}-".encode() if port in ("", "11211") else f"{host}:{port}-".encode()


def _nginx_points(label: str, start: int, stop: int) -> np.ndarray:
    """ngx_http_upstream_init_chash: crc32(host NUL port prev_hash), chained."""
    if label[:5].lower() == "unix:":
        host, port = label[5:], ""
    else:
        host, port = _host_port(label)
    base = zlib.crc32(host.encode() + b"\0" + port.encode())
    points = np.empty(stop, dtype=np.uint64)
    prev = 0
    for j in range(stop):
        prev = zlib.crc32(prev.to_bytes(4, "little"), base)
        points[j] = prev
    return points[start:]


def _system_points(
    labels: Sequence[str], nodes: Sequence[int], starts: Array, stops: Array,
    owner: Array, vnode: Array, config: Config, weights: Sequence[Any],
) -> Points:
    """libmemcached's and nginx's points, each plus one (see SHIFTED_COMPAT)."""
    if config.compat == "nginx":
        pos = np.concatenate(
            [_nginx_points(labels[i], a, b) for i, a, b in zip(nodes, starts.tolist(), stops.tolist())]
            or [np.empty(0, np.uint64)]
        )
    elif md5_continuum(config, weights):
        # ketama_server_hash(name-i, x): word x of the digest, little-endian, 4 per digest.
        digests = np.empty(16 * len(vnode), dtype=np.uint8)
        prefixes = [_libmemcached_prefix(labels[i]) for i in nodes]
        _hashing.vnode_md5(prefixes, starts, stops, digests)
        pos = digests.view("<u4").astype(np.uint64)
        reps = KETAMA_POINTS_PER_VNODE
        owner, vnode = np.repeat(owner, reps), np.repeat(vnode, reps)
    else:
        pos = np.empty(len(vnode), dtype=np.uint64)
        prefixes = [_libmemcached_prefix(labels[i]) for i in nodes]
        _hashing.vnode_hashes(prefixes, starts, stops, config.algo, 0, pos)
    return pos + np.uint64(1), None, owner, vnode


def _prefix(label: str) -> bytes:
    """What a node's point texts start with: vnode v of node ``label`` is ``f"{label}-{v}"``."""
    return f"{label}-".encode("utf-8")


def _new_points(
    labels: Sequence[str], nodes: Sequence[int], starts: Sequence[int] | Array,
    stops: Sequence[int] | Array, config: Config, weights: Sequence[Any],
) -> Points:
    """(pos, lo, owner, vnode) of vnodes [starts[k], stops[k]) of node nodes[k], for
    every k in order, each node's points in vnode order."""
    prefixes = [_prefix(labels[i]) for i in nodes]
    first = np.asarray(starts, dtype=np.int64)
    last = np.asarray(stops, dtype=np.int64)
    counts = last - first
    total = int(counts.sum())
    # vnode numbers of the concatenated ranges, without a Python loop
    vnode = (np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts - first, counts)).astype(np.int32)
    owner = np.repeat(np.asarray(nodes, dtype=np.int32), counts)
    if config.compat in SHIFTED_COMPAT:
        return _system_points(labels, nodes, first, last, owner, vnode, config, weights)
    if config.mode == MODE_HASH:
        pos = np.empty(total, dtype=np.uint64)
        _hashing.vnode_hashes(prefixes, first, last, config.algo, 0, pos)
        return pos, None, owner, vnode
    digests = np.empty(16 * total, dtype=np.uint8)
    _hashing.vnode_md5(prefixes, first, last, digests)
    if config.mode == MODE_KETAMA:
        # uhashring's ketama hashi(name-w, replica=i): digest bytes 4i..4i+3, little-endian.
        pos = digests.view("<u4").astype(np.uint64)
        reps = KETAMA_POINTS_PER_VNODE
        return pos, None, np.repeat(owner, reps), np.repeat(vnode, reps)
    # uhashring's default hashi: int(md5(...).hexdigest(), 16), a big-endian 128-bit integer.
    words = digests.view(">u8").reshape(total, 2)
    return words[:, 0].astype(np.uint64), words[:, 1].astype(np.uint64), owner, vnode


def target_counts(weights: Sequence[Any], config: Config) -> tuple[int, ...]:
    """vnodes per node: round(vnodes * w); uhashring vnodes * w; ketama its share."""
    vnodes = config.vnodes
    if md5_continuum(config, weights):
        # update_continuum, in C float: floor(w / W * 160 / 4 * servers + 1e-10) digests.
        f32 = np.float32
        total, servers = f32(sum(weights)), f32(len(weights))
        return tuple(
            int(np.floor(float(f32(f32(f32(w) / total) * f32(160)) / f32(4) * servers) + 0.0000000001))
            for w in weights
        )
    if config.compat == "libmemcached":
        return tuple(vnodes for _ in weights)  # every weight is 1 here
    if config.compat == "nginx":
        return tuple(vnodes * w for w in weights)
    if config.mode == MODE_KETAMA:
        # uhashring KetamaRing._hashi_weight_generator, integer arithmetic.
        total = sum(weights)
        n = len(weights)
        return tuple(vnodes * n * w // total for w in weights)
    if config.mode == MODE_UHASHRING:
        return tuple(vnodes * w for w in weights)
    return tuple(round(vnodes * w) for w in weights)


def _rank_key(config: Config, labels: Sequence[str], owner: int) -> int | str:
    """Collision rank of a node: the smallest wins (comes first among equal points)."""
    if config.mode == MODE_KETAMA:
        # uhashring builds the ketama ring in node order, the last writer wins.
        return -owner
    if config.compat in SHIFTED_COMPAT:
        # nginx keeps the first of equal points after sorting the servers' points in
        # order; libmemcached keeps all and finds the first: node order either way.
        return owner
    return labels[owner]


def _priority(config: Config, labels: Sequence[str], nodes: list[int]) -> list[int]:
    """``nodes`` (indices) sorted by collision rank."""
    return sorted(nodes, key=lambda i: _rank_key(config, labels, i))


def _runs(dup: np.ndarray) -> Iterator[tuple[int, int]]:
    """(first, last) index pairs of runs of equal sorted values; dup[k]: v[k] == v[k+1]."""
    if not len(dup):
        return
    breaks = np.flatnonzero(np.diff(dup) != 1)
    starts = np.concatenate(([0], breaks + 1))
    stops = np.concatenate((breaks, [len(dup) - 1]))
    for a, b in zip(dup[starts].tolist(), dup[stops].tolist()):
        yield a, b + 1


def _sort_new(pos: Array, lo: Array | None) -> Array:
    """Permutation sorting points by position; equal points keep their given order."""
    perm = _ring.stable_order(pos)
    if lo is not None:  # 128-bit positions: equal high words are ordered by the low ones
        ordered = pos[perm]
        for a, b in _runs(np.flatnonzero(ordered[1:] == ordered[:-1])):
            run = perm[a : b + 1]
            perm[a : b + 1] = run[np.argsort(lo[run], kind="stable")]
    return perm


def _fix_runs(
    pos: Array, lo: Array | None, owner: Array, vnode: Array, touched: Array,
    config: Config, labels: Sequence[str],
) -> None:
    """Re-sort the runs of equal positions around ``touched`` by collision rank (in place)."""
    done = set()
    for f in touched.tolist():
        value = pos[f]
        a = int(np.searchsorted(pos, value, side="left"))
        if a in done:
            continue
        done.add(a)
        b = int(np.searchsorted(pos, value, side="right"))
        order = sorted(
            range(a, b),
            key=lambda j: (
                0 if lo is None else int(lo[j]),
                _rank_key(config, labels, int(owner[j])),
                int(vnode[j]),
            ),
        )
        for array in (lo, owner, vnode):
            if array is not None:
                array[a:b] = array[order]


def rebuild(
    old: State | None, names: tuple[Any, ...], weights: tuple[Any, ...], labels: tuple[str, ...],
    config: Config, dropped: int | None,
) -> State:
    """The next state: ``dropped`` (an old node index) left, nodes added or re-weighted.

    Only changed points are touched: points of ``dropped`` and vnodes above a node's new
    count are masked out; vnodes a node gains are hashed, sorted and merged in.
    """
    targets = target_counts(weights, config)
    if old is not None and md5_continuum(config, old.weights) != md5_continuum(config, weights):
        old = None  # libmemcached switched between its two continuums: every point changes
    if old is None or not len(old.pos):
        current = [0] * len(names)
        pos = np.empty(0, dtype=np.uint64)
        lo = None if config.mode != MODE_UHASHRING else np.empty(0, dtype=np.uint64)
        owner = np.empty(0, dtype=np.int32)
        vnode = np.empty(0, dtype=np.int32)
    else:
        pos, lo, owner, vnode = old.pos, old.lo, old.owner, old.vnode
        current = list(old.counts)
        if dropped is not None:
            keep = owner != dropped
            pos, owner, vnode = pos[keep], owner[keep], vnode[keep]
            lo = None if lo is None else lo[keep]
            owner = owner - (owner > dropped).astype(np.int32)  # indices after it shift down
            del current[dropped]
        current += [0] * (len(names) - len(current))  # nodes added at the end
        shrink = np.array([min(c, t) for c, t in zip(current, targets)], dtype=np.int64)
        if len(pos) and any(t < c for c, t in zip(current, targets)):
            keep = vnode < shrink[owner]
            pos, owner, vnode = pos[keep], owner[keep], vnode[keep]
            lo = None if lo is None else lo[keep]
    grow = [i for i, (c, t) in enumerate(zip(current, targets)) if t > c]
    if grow:
        grow = _priority(config, labels, grow)
        new_pos, new_lo, new_owner, new_vnode = _new_points(
            labels, grow, [current[i] for i in grow], [targets[i] for i in grow], config, weights
        )
        perm = _sort_new(new_pos, new_lo)
        new_pos, new_owner, new_vnode = new_pos[perm], new_owner[perm], new_vnode[perm]
        new_lo = None if new_lo is None else new_lo[perm]
        if not len(pos):
            pos, lo, owner, vnode = new_pos, new_lo, new_owner, new_vnode
        else:
            at = np.searchsorted(pos, new_pos, side="left")
            pos = np.insert(pos, at, new_pos)
            owner = np.insert(owner, at, new_owner)
            vnode = np.insert(vnode, at, new_vnode)
            lo = None if lo is None or new_lo is None else np.insert(lo, at, new_lo)
            # Where a new point equals an old one, restore the collision order.
            placed = at + np.arange(len(at))
            before = pos[np.maximum(placed - 1, 0)] == pos[placed]
            after = pos[np.minimum(placed + 1, len(pos) - 1)] == pos[placed]
            touched = placed[(before & (placed > 0)) | (after & (placed < len(pos) - 1))]
            if len(touched):
                _fix_runs(pos, lo, owner, vnode, touched, config, labels)
    return State(names, weights, labels, targets, pos, lo, owner, vnode, config)




# --------------------------------------------------------------------------- pickles


def restore(
    names: tuple[Any, ...], weights: tuple[Any, ...], labels: tuple[str, ...], config: Config, arrays: Any
) -> State:
    """The state a pickle's point arrays describe, checked to be exactly ``rebuild``'s.

    ``arrays`` is ``(pos, lo, owner, vnode)`` as a State holds them (every point,
    sorted). Loading skips the sort, the bulk of a build: every point is hashed
    again and matched to its (node, vnode), and the order is checked, so a corrupt or
    tampered pickle is a ValueError, never a ring that answers differently. A check
    that fails on a legitimate ring (two equal words in one ketama digest) falls
    back to building the ring and comparing.
    """
    if not isinstance(arrays, (list, tuple)) or len(arrays) != 4:
        raise ValueError("corrupt state: points must be (pos, lo, owner, vnode)")
    wide = config.mode == MODE_UHASHRING
    pos = _pickled_array(arrays[0], np.uint64, "pos")
    lo = None
    if wide:
        lo = _pickled_array(arrays[1], np.uint64, "lo")
    elif arrays[1] is not None:
        raise ValueError("corrupt state: this ring has no lo array")
    owner = _pickled_array(arrays[2], np.int32, "owner")
    vnode = _pickled_array(arrays[3], np.int32, "vnode")
    targets = target_counts(weights, config)
    per_vnode = points_per_vnode(config, weights)
    total = sum(targets) * per_vnode
    if any(len(a) != total for a in (pos, owner, vnode) + (() if lo is None else (lo,))):
        raise ValueError(f"corrupt state: the nodes make {total} points, the pickle holds {len(pos)}")
    if total and not _points_check(names, labels, config, weights, targets, per_vnode, pos, lo, owner, vnode):
        fresh = rebuild(None, names, weights, labels, config, None)
        same = all(
            np.array_equal(a, b) for a, b in zip((fresh.pos, fresh.owner, fresh.vnode), (pos, owner, vnode))
        ) and (lo is None or (fresh.lo is not None and np.array_equal(fresh.lo, lo)))
        if not same:
            raise ValueError("corrupt state: the pickled points are not this ring's points")
        return fresh
    return State(names, weights, labels, targets, pos, lo, owner, vnode, config)


def _pickled_array(a: Any, dtype: Any, name: str) -> Array:
    if not isinstance(a, np.ndarray) or a.dtype != dtype or a.ndim != 1:
        raise ValueError(f"corrupt state: {name} must be a one-dimensional {np.dtype(dtype).name} array")
    return a


def _points_check(
    names: tuple[Any, ...], labels: Sequence[str], config: Config, weights: Sequence[Any],
    targets: tuple[int, ...], per_vnode: int, pos: Array, lo: Array | None, owner: Array, vnode: Array,
) -> bool:
    """True if the arrays are exactly the ring's points in ring order; False if unsure.

    Raises ValueError for what no ring holds (owners or vnodes out of range)."""
    n = len(names)
    counts = np.asarray(targets, dtype=np.int64)
    if owner.min() < 0 or owner.max() >= n:
        raise ValueError("corrupt state: a point's owner is not a node")
    if vnode.min() < 0 or np.any(vnode >= counts[owner]):
        raise ValueError("corrupt state: a point's vnode is beyond its node's count")
    if config.mode == MODE_HASH and config.compat not in SHIFTED_COMPAT:
        # Every point hashed again in ring order: one pass, no gather across arrays.
        # (owner, vnode) pairs are then distinct if equal positions are strictly
        # ordered: equal pairs hash alike, so they would meet in one run of ties.
        fresh = np.empty(len(pos), dtype=np.uint64)
        _hashing.point_hashes([_prefix(label) for label in labels], owner, vnode, config.algo, 0, fresh)
        if not np.array_equal(fresh, pos):
            raise ValueError("corrupt state: the pickled points are not this ring's points")
        return _in_ring_order(config, labels, pos, lo, owner, vnode, strict=True)
    # Every point hashed again, in node order: vnode v of node i is row first[i] + v.
    nodes = list(range(n))
    fresh_pos, fresh_lo = _new_points(labels, nodes, [0] * n, targets, config, weights)[:2]
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    row = first[owner] + vnode
    if per_vnode == 1:
        slot = row
        if not np.array_equal(fresh_pos[slot], pos) or (
            lo is not None and (fresh_lo is None or not np.array_equal(fresh_lo[slot], lo))
        ):
            raise ValueError("corrupt state: the pickled points are not this ring's points")
    else:
        words = fresh_pos.reshape(-1, per_vnode)[row]
        match = words == pos[:, None]
        word = match.argmax(axis=1)
        if not match[np.arange(len(pos)), word].all():
            raise ValueError("corrupt state: the pickled points are not this ring's points")
        slot = row * per_vnode + word
    seen = np.zeros(len(pos), dtype=bool)
    seen[slot] = True
    if not seen.all():
        return False  # a point twice, another missing; or equal words in one digest
    return _in_ring_order(config, labels, pos, lo, owner, vnode, strict=False)


def _in_ring_order(
    config: Config, labels: Sequence[str], pos: Array, lo: Array | None, owner: Array, vnode: Array, strict: bool
) -> bool:
    """True if the points are in ring order: positions ascending, equal ones by
    collision rank, then vnode (``strict``: and no (owner, vnode) twice)."""
    if len(pos) > 1:
        a, b = pos[:-1], pos[1:]
        if lo is None:
            if np.any(b < a):
                return False
        elif np.any((b < a) | ((b == a) & (lo[1:] < lo[:-1]))):
            return False
        tie = ~_live_mask(pos, lo)[1:]  # point k + 1 at the same position as point k
        for k in np.flatnonzero(tie).tolist():
            left = (_rank_key(config, labels, int(owner[k])), int(vnode[k]))
            right = (_rank_key(config, labels, int(owner[k + 1])), int(vnode[k + 1]))
            if right < left or (strict and right == left):
                return False
    return True
