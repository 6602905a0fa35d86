"""uhashring 2.x's ``HashRing``, with uhashring's answers, on fastring's compiled ring.

Migrating is one import::

    from fastring.compat.uhashring import HashRing   # was: from uhashring import HashRing

The constructor, the node configuration dicts (``hostname``, ``port``, ``instance``,
``weight``, ``vnodes``, ``nodename``), every method and the attributes uhashring's
users read (``ring``, ``size``, ``distribution``, ``conf``, and the private ``_keys``,
``_ring``, ``_nodes``) behave as uhashring 2.5's, answer for answer. The default md5
ring and the ketama ring (``hash_fn="ketama"``) run on :class:`fastring.HashRing`: a
lookup is one compiled call, a build hashes every point in C. ``ring``, ``_keys``,
``distribution`` and ``get_points()`` are made when first read after a change.

What runs in Python, as slowly as in uhashring: a ``hash_fn`` callable (its values can
be of any ordered type), ketama rings whose nodes have different ``vnodes`` or with
``replicas`` other than 4, rings whose node names print as the same text (``1`` and
``"1"``), and ``range(..., unique=False)``.

Differences, all where uhashring itself fails or is undefined:

- A weight or ``vnodes`` that is not an integer is a TypeError, and a ketama ring whose
  weights add up to 0 or less a ValueError, raised before anything changes (uhashring
  fails half-way through a rebuild).
- Removing a node that has no points (weight 0) works (uhashring raises KeyError
  half-way through).
- Two points of the md5 ring at the same 128-bit position (never seen for md5): the
  node whose name sorts first owns it, where uhashring keeps the last one written.
"""

from __future__ import annotations

import bisect
from collections import Counter
from hashlib import md5
from typing import Any, Callable, Iterator


from ..ring import HashRing as _NativeRing

__all__ = ["HashRing"]

_CONF_KEYS = ("hostname", "instance", "nodename", "port", "vnodes", "weight")
_REBUILD_KEYS = ("nodename", "vnodes", "weight")  # changing these rebuilds the ring
_KETAMA_POINTS = 4  # fastring's ketama ring takes 4 points per md5 digest


def _md5_int(key: Any) -> int:
    """uhashring's default key hash: the md5 of ``str(key)`` as a big-endian integer."""
    return int.from_bytes(md5(str(key).encode("utf-8")).digest(), "big")


def _ketama_hash(key: Any, replica: int = 0) -> int:
    """uhashring's ketama key hash: word ``replica`` of the md5 digest, little-endian."""
    digest = md5(str(key).encode("utf-8")).digest()
    if not 0 <= replica < 4:
        raise IndexError(f"an md5 digest holds 4 ketama points; replica {replica} is out of range")
    at = 4 * replica
    return int.from_bytes(digest[at : at + 4], "little")


def _points(conf: dict[str, Any]) -> int:
    """The number of md5-ring points of a node: ``vnodes * weight`` (as ``range`` reads it)."""
    return len(range(conf["vnodes"] * conf["weight"]))


class _Continuum:
    """The points as uhashring lists them, made on first read after a change."""

    __slots__ = ("keys", "ring")

    def __init__(self, keys: list[Any], ring: dict[int, Any]) -> None:
        self.keys = keys  # sorted positions; the ketama ring keeps colliding ones
        self.ring = ring  # position -> node name


class HashRing:
    """uhashring's consistent hashing ring (see the module docstring).

    Parameters
    ----------
    nodes : list, dict or str
        Node names, or a dict name -> weight (int) or name -> configuration dict
        with any of ``hostname``, ``instance``, ``nodename``, ``port``, ``vnodes``,
        ``weight``.
    hash_fn : None, "ketama" or callable
        ``None``: md5 of ``str(key)`` as a 128-bit integer; ``"ketama"``: the ketama
        ring (4 32-bit points per md5 digest of ``f"{name}-{i}"``); a callable: your
        key hash (slow, as in uhashring).
    vnodes : int
        Default virtual nodes per unit of weight (160; 40 for ketama).
    replicas : int
        Points per md5 digest of the ketama ring (4).
    weight_fn : callable
        ``weight_fn(**conf)`` gives each node's weight.

    Other keyword arguments are ignored, as uhashring ignores them.

    Examples
    --------
    >>> from fastring.compat.uhashring import HashRing
    >>> ring = HashRing({
    ...     "cache1": {"port": 6379, "instance": "client-1"},
    ...     "cache2": {"port": 6380, "instance": "client-2", "weight": 2},
    ... })
    >>> ring.get_node("user:42"), ring["user:42"], ring.get_node_port("user:42")
    ('cache1', 'client-1', 6379)
    >>> [conf["nodename"] for conf in ring.range("user:42")]
    ['cache1', 'cache2']
    >>> import uhashring
    >>> theirs = uhashring.HashRing(dict(ring.conf))
    >>> all(ring.get_node(k) == theirs.get_node(k) for k in range(1000))
    True
    """

    def __init__(self, nodes: Any = [], **kwargs: Any) -> None:  # noqa: B006 - uhashring's signature
        hash_fn = kwargs.get("hash_fn", None)
        vnodes = kwargs.get("vnodes", None)
        weight_fn = kwargs.get("weight_fn", None)
        self._ketama = isinstance(hash_fn, str) and hash_fn == "ketama"
        if self._ketama:
            self._replicas = kwargs.get("replicas", 4)
            self._hash_fn: Callable[..., Any] | None = None
            self.hashi: Callable[..., Any] = _ketama_hash
            vnodes = 40 if vnodes is None else vnodes
        else:
            if hash_fn and not callable(hash_fn):
                raise TypeError("hash_fn should be a callable function")
            self._replicas = _KETAMA_POINTS
            self._hash_fn = hash_fn or None
            self.hashi = hash_fn or _md5_int
            vnodes = 160 if vnodes is None else vnodes
        if weight_fn and not callable(weight_fn):
            raise TypeError("weight_fn should be a callable function")
        self._default_vnodes = vnodes
        self._weight_fn = weight_fn
        self._nodes: dict[Any, Any] = {}  # name -> configuration dict, as uhashring's runtime._nodes
        self._counts: dict[Any, Any] = {}  # md5 ring: name -> points made by its last rebuild
        self._native: _NativeRing[Any] | None = None  # the compiled ring, when it can serve
        self._python: _Continuum | None = None  # the Python ring, when it cannot
        self._view: _Continuum | None = None  # the continuum read from the compiled ring
        self._points_of: dict[Any, Any] = {}  # Python md5 ring: name -> the points it wrote
        self._distribution: Counter[Any] = Counter()
        if self._configure_nodes(nodes):
            self._create_ring(list(self._nodes.items()))

    # ------------------------------------------------------------------ configuration

    def _configure_nodes(self, nodes: Any) -> bool:
        """uhashring's node parsing: store each node's configuration; True if the ring changes."""
        if isinstance(nodes, str):
            nodes = [nodes]
        elif not isinstance(nodes, (dict, list)):
            raise ValueError(f"nodes configuration should be a list or a dict, got {type(nodes)}")
        parsed: dict[Any, dict[str, Any]] = {}
        changed = False
        for node in nodes:
            conf = {
                "hostname": node,
                "instance": None,
                "nodename": node,
                "port": None,
                "vnodes": self._default_vnodes,
                "weight": 1,
            }
            current = parsed.get(node) or self._nodes.get(node, {})
            if not current:
                changed = True
            if isinstance(nodes, dict):
                node_conf = nodes[node]
                if isinstance(node_conf, int):
                    conf["weight"] = node_conf
                elif isinstance(node_conf, dict):
                    for k, v in node_conf.items():
                        if k in conf:
                            conf[k] = v
                            if k in _REBUILD_KEYS and current.get(k) != v:
                                changed = True
                else:
                    raise ValueError(f"node configuration should be a dict or an int, got {type(node_conf)}")
            if self._weight_fn:
                conf["weight"] = self._weight_fn(**conf)
            if current.get("weight") != conf["weight"]:
                changed = True
            _points(conf)  # a weight or vnodes that is not an integer fails here, before any change
            parsed[node] = conf
        if self._ketama and parsed:
            total = sum(conf["weight"] for conf in {**self._nodes, **parsed}.values())
            if total <= 0:  # uhashring divides by it (ZeroDivisionError)
                raise ValueError(f"the ketama ring needs a positive total weight, got {total}")
        self._nodes.update(parsed)
        return changed

    def _create_ring(self, items: list[Any]) -> None:
        """Rebuild the points of the nodes in ``items`` (ketama: of every node)."""
        self._view = None
        if self._ketama:
            self._build_ketama()
        elif self._python is not None or self._hash_fn is not None:
            self._python_md5(items)
        else:
            self._native_md5(items)

    def _native_md5(self, items: list[Any]) -> None:
        counts = dict(self._counts)
        for name, conf in items:
            counts[name] = _points(conf)
        live = {name: c for name, c in counts.items() if c > 0}
        if len({f"{name}" for name in counts}) < len(counts):
            # Names that print the same (1 and "1") make the same points: the compiled
            # ring refuses them, the Python ring keeps the last one written.
            self._use(None)
            self._python_md5([(name, self._nodes[name]) for name in counts])
            return
        ring = self._native
        if ring is None or len(items) > 1:
            ring = _NativeRing(live, vnodes=1, compat="uhashring")
        else:
            ring = ring.copy()  # changed aside, swapped in whole
            for name, _ in items:
                if name in ring:
                    ring.remove(name)
                if live.get(name):
                    ring.add(name, live[name])
        self._use(ring)
        self._counts = counts
        self._distribution = Counter(live)

    def _python_md5(self, items: list[Any]) -> None:
        cont = self._python
        if cont is None:
            cont = self._python = _Continuum([], {})
        ring, dist, hashi = cont.ring, self._distribution, self.hashi
        for name, conf in items:
            for point in self._points_of.pop(name, ()):
                if ring.get(point) == name:
                    del ring[point]
            dist.pop(name, None)
            made = []
            for w in range(conf["vnodes"] * conf["weight"]):
                dist[name] += 1
                point = hashi(f"{name}-{w}")
                ring[point] = name
                made.append(point)
            self._points_of[name] = made
        cont.keys = sorted(ring)

    def _build_ketama(self) -> None:
        nodes = self._nodes
        total = sum(conf["weight"] for conf in nodes.values())
        n = len(nodes)
        shares = {name: conf["vnodes"] * n * conf["weight"] // total for name, conf in nodes.items()}
        vnodes = {conf["vnodes"] for conf in nodes.values()}
        self._distribution = Counter({name: s * self._replicas for name, s in shares.items() if s > 0})
        weights = {name: conf["weight"] for name, conf in nodes.items()}
        if (
            self._replicas == _KETAMA_POINTS
            and len(vnodes) == 1
            and all(w >= 1 for w in weights.values())
            and len({f"{name}" for name in nodes}) == n
        ):
            self._use(_NativeRing(weights, vnodes=vnodes.pop(), compat="ketama"))
            self._python = None
            return
        self._use(None)
        ring: dict[int, Any] = {}
        keys = []
        for name, share in shares.items():
            for w in range(share):
                label = f"{name}-{w}"
                for i in range(self._replicas):
                    point = _ketama_hash(label, i)
                    ring[point] = name
                    keys.append(point)
        keys.sort()
        self._python = _Continuum(keys, ring)

    def _use(self, native: _NativeRing[Any] | None) -> None:
        """Serve lookups from ``native`` (None: from the Python ring)."""
        self._native = native
        if native is not None and native._state.index.size:
            # While the compiled ring has points its search is get_node itself: no
            # Python frame per call (the method below gives the same answers).
            self.get_node = native._state.index.lookup  # type: ignore[method-assign]
        else:
            self.get_node = self._python_lookup  # type: ignore[method-assign]

    def _continuum(self) -> _Continuum:
        """The points as uhashring holds them (``_keys``, ``_ring``)."""
        if self._python is not None:
            return self._python
        view = self._view
        if view is None:
            view = self._view = self._read_native()
        return view

    def _read_native(self) -> _Continuum:
        native = self._native
        if native is None:
            return _Continuum([], {})
        names = native.nodes
        points = native.points()
        if points.position.ndim == 2:  # the md5 ring: (high, low) words of 128 bits
            keys = [(hi << 64) | lo for hi, lo in points.position.tolist()]
        else:
            keys = points.position.tolist()
        ring = dict(zip(keys, [names[i] for i in points.node.tolist()]))
        if self._ketama:
            # uhashring's ketama list keeps every point, colliding ones included.
            keys = native._state.pos.tolist()
        return _Continuum(keys, ring)

    # ------------------------------------------------------------------ lookups


    def _position(self, cont: _Continuum, key: Any) -> int:
        p = bisect.bisect(cont.keys, self.hashi(key))
        return 0 if p == len(cont.keys) else p

    def get_node(self, key: Any) -> Any:
        """The name of the node owning ``key`` (None on an empty ring)."""
        native = self._native
        if native is not None and native._state.index.size:
            return native._state.index.lookup(key)
        return self._python_lookup(key)

    def _python_lookup(self, key: Any) -> Any:
        cont = self._python
        if cont is None or not cont.ring:
            return None
        return cont.ring[cont.keys[self._position(cont, key)]]

    def _get(self, key: Any, what: str) -> Any:
        name = self.get_node(key)
        if name is None and not self.size:
            return None
        if what in ("hostname", "port", "weight"):
            return self._nodes[name][what]
        cont = self._continuum()
        pos = self._position(cont, key)
        if what == "pos":
            return pos
        return (cont.keys[pos], cont.ring[cont.keys[pos]])

    def get(self, key: Any) -> dict[str, Any] | None:
        """The configuration dict of the node owning ``key``."""
        name = self.get_node(key)
        if name is None and not self.size:
            return None
        conf: dict[str, Any] = self._nodes[name]
        return conf

    def __getitem__(self, key: Any) -> Any:
        """The ``instance`` of the node owning ``key``."""
        name = self.get_node(key)
        if name is None and not self.size:
            return None
        return self._nodes[name]["instance"]

    get_node_instance = __getitem__

    def get_node_hostname(self, key: Any) -> Any:
        return self._get(key, "hostname")

    def get_node_port(self, key: Any) -> Any:
        return self._get(key, "port")

    def get_node_pos(self, key: Any) -> int | None:
        """The index in ``_keys`` of the point owning ``key``."""
        pos: int | None = self._get(key, "pos")
        return pos

    def get_node_weight(self, key: Any) -> Any:
        return self._get(key, "weight")

    def get_server(self, key: Any) -> tuple[Any, ...] | None:
        """The ketama ``(position, name)`` of the point owning ``key``."""
        point: tuple[Any, ...] | None = self._get(key, "tuple")
        return point

    def get_key(self, key: Any) -> Any:
        """``hashi(key)`` (hash_ring's name for it)."""
        return self.hashi(key)

    def get_instances(self) -> list[Any]:
        """The ``instance`` of every node that has a truthy one."""
        return [c.get("instance") for c in self._nodes.values() if c.get("instance")]

    def get_nodes(self) -> Any:
        """The names of all configured nodes (a dict keys view)."""
        return self._nodes.keys()

    def get_points(self) -> list[Any]:
        """Every ``(position, name)`` of the continuum, in ring order."""
        cont = self._continuum()
        return [(k, cont.ring[k]) for k in cont.keys]

    def range(self, key: Any, size: Any = None, unique: bool = True) -> Iterator[dict[str, Any]]:
        """The configurations of the nodes met walking the ring from ``key``'s point.

        ``unique``: each node once, at most ``size`` (default: all of them).
        """
        native = self._native
        if unique and native is not None and (size is None or (type(size) is int and size >= 0)):
            # The compiled walk meets the nodes in the same order as the list walk.
            reachable = native._state.reachable
            want = reachable if not size else min(size, reachable)
            for name in native.replicas(key, want) if want else ():
                yield self._nodes[name]
            return
        yield from self._walk(key, size, unique)

    def _walk(self, key: Any, size: Any, unique: bool) -> Iterator[dict[str, Any]]:
        cont = self._continuum()
        keys, ring, nodes = cont.keys, cont.ring, self._nodes
        seen: Any
        if unique:
            seen = set()
            size = size or len(nodes)
        else:
            seen = []
        pos = self._position(cont, key)
        for point in keys[pos:] + keys[:pos]:
            name = ring[point]
            if unique:
                if name in seen:
                    continue
                seen.add(name)
            else:
                seen.append(name)
            yield nodes[name]
            if len(seen) == size:
                return

    def iterate_nodes(self, key: Any, distinct: bool = True) -> Iterator[Any]:
        """The ``nodename`` of each node ``range(key, unique=distinct)`` meets (None if empty)."""
        if not self.size:
            yield None
        else:
            for conf in self.range(key, unique=distinct):
                yield conf["nodename"]

    def print_continuum(self) -> None:
        """Print ketama's continuum report."""
        cont = self._continuum()
        if cont.keys:
            print(f"Numpoints in continuum: {len(cont.keys)}")
        else:
            print("Continuum empty")
        for point, name in self.get_points():
            print(f"{name} ({point})")

    # ------------------------------------------------------------------ changes

    def __setitem__(self, nodename: Any, conf: Any = {"weight": 1}) -> None:  # noqa: B006
        """Add node ``nodename`` or change its configuration (``conf``: a dict or a weight)."""
        if self._configure_nodes({nodename: conf}):
            self._create_ring([(nodename, self._nodes[nodename])])

    add_node = __setitem__

    def __delitem__(self, nodename: Any) -> None:
        """Remove node ``nodename`` (KeyError if it is not configured)."""
        if nodename not in self._nodes:
            raise KeyError(f"node '{nodename}' not found, available nodes: {self._nodes.keys()}")
        conf = self._nodes.pop(nodename)
        self._view = None
        if self._ketama:
            self._build_ketama()
            return
        if self._python is not None:
            conf = dict(conf, vnodes=0)
            self._python_md5([(nodename, conf)])
            del self._points_of[nodename]
            self._distribution.pop(nodename, None)
            return
        self._counts.pop(nodename, None)
        self._distribution.pop(nodename, None)
        if self._native is not None and nodename in self._native:
            ring = self._native.copy()
            ring.remove(nodename)
            self._use(ring)

    remove_node = __delitem__

    def regenerate(self) -> None:
        """Re-read every node's weight from ``weight_fn`` and rebuild the ring."""
        self._configure_nodes(dict(self._nodes))
        self._create_ring(list(self._nodes.items()))

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        # The compiled ring pickles itself; the bound search and the read-out are remade.
        state = dict(self.__dict__)
        del state["get_node"], state["_view"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._view = None
        self._use(self._native)

    # ------------------------------------------------------------------ attributes

    @property
    def conf(self) -> dict[str, Any]:
        """Node name -> configuration dict."""
        return self._nodes

    nodes = conf

    @property
    def distribution(self) -> Counter[Any]:
        """Node name -> number of points it made."""
        return self._distribution

    @property
    def ring(self) -> dict[int, Any]:
        """Position -> node name, for every point on the ring."""
        return self._continuum().ring

    continuum = ring

    @property
    def size(self) -> int:
        """The number of points on the ring."""
        native = self._native
        if native is not None:
            return int(native._state.index.size)
        return len(self._continuum().ring)

    @property
    def _ring(self) -> dict[int, Any]:
        return self._continuum().ring

    @property
    def _keys(self) -> list[Any]:
        return self._continuum().keys
