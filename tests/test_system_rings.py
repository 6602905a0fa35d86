"""HashRing's system rings: libmemcached (pylibmc ketama / ketama_weighted) and nginx's
``hash $key consistent``, against the real servers and an independent model here."""

import bisect
import hashlib
import math
import pickle
import shutil
import struct
import subprocess
import time
import urllib.parse
import urllib.request
import zlib

import numpy as np
import pytest

import servers
from fastring import HashRing
from fastring._implementation import use_twin

KEYS = [f"user:{i}" for i in range(400)] + ["", "é", "a" * 50, "\x7f\x80"]


# -- an independent model of each system's continuum ---------------------------------


def one_at_a_time(data):
    h = 0
    for b in data:
        h = (h + (b - 256 if b >= 128 else b)) & 0xFFFFFFFF  # signed char
        h = (h + (h << 10)) & 0xFFFFFFFF
        h ^= h >> 6
    h = (h + (h << 3)) & 0xFFFFFFFF
    h ^= h >> 11
    return (h + (h << 15)) & 0xFFFFFFFF


def libmemcached_model(servers, weights, weighted):
    """(sorted points, owners, key hash) of libmemcached's update_continuum."""
    points = []
    md5 = weighted or any(w > 1 for w in weights)
    total = np.float32(sum(weights))
    for index, (server, weight) in enumerate(zip(servers, weights)):
        host, port = server.rsplit(":", 1)
        name = f"{host}-" if port == "11211" else f"{host}:{port}-"
        if md5:
            pct = np.float32(weight) / total
            count = math.floor(float(pct * np.float32(160) / np.float32(4) * np.float32(len(servers))) + 1e-10)
            for i in range(count):
                digest = hashlib.md5(f"{name}{i}".encode()).digest()
                points += [(v, index) for v in struct.unpack("<4I", digest)]
        else:
            points += [(one_at_a_time(f"{name}{i}".encode()), index) for i in range(100)]
    points.sort(key=lambda p: p[0])  # stable: equal points in server order

    def key_hash(k):
        data = k.encode()
        return struct.unpack("<I", hashlib.md5(data).digest()[:4])[0] if weighted else one_at_a_time(data)

    return [p for p, _ in points], [o for _, o in points], key_hash


def nginx_model(servers, weights):
    points = []
    for index, (server, weight) in enumerate(zip(servers, weights)):
        host, port = server.rsplit(":", 1)
        base = zlib.crc32(host.encode() + b"\0" + port.encode())
        prev = 0
        for _ in range(160 * weight):
            prev = zlib.crc32(struct.pack("<I", prev), base)
            points.append((prev, index))
    points.sort(key=lambda p: p[0])
    kept = [p for i, p in enumerate(points) if i == 0 or p[0] != points[i - 1][0]]
    return [p for p, _ in kept], [o for _, o in kept], lambda k: zlib.crc32(k.encode())


def model_lookup(model, keys):
    points, owners, key_hash = model
    out = []
    for k in keys:
        j = bisect.bisect_left(points, key_hash(k))  # the first point >= the hash
        out.append(owners[j if j < len(points) else 0])
    return out


SERVERS = ["10.0.0.1:11211", "10.0.0.2:11212", "cache-c:11213", "cache-d:11211"]
CASES = [
    ("libmemcached", [1, 1, 1, 1]),
    ("libmemcached", [1, 3, 1, 2]),
    ("libmemcached_weighted", [1, 1, 1, 1]),
    ("libmemcached_weighted", [5, 1, 2, 7]),
    ("nginx", [1, 1, 1, 1]),
    ("nginx", [1, 2, 5, 1]),
]


def model_for(compat, weights):
    if compat == "nginx":
        return nginx_model(SERVERS, weights)
    return libmemcached_model(SERVERS, weights, compat == "libmemcached_weighted")


@pytest.mark.parametrize("compat, weights", CASES)
def test_rings_match_the_model(twin, compat, weights):
    ring = HashRing(dict(zip(SERVERS, weights)), compat=compat)
    model = model_for(compat, weights)
    expected = model_lookup(model, KEYS)
    assert ring.lookup_many(KEYS).tolist() == expected
    assert [ring.nodes.index(ring.lookup(k)) for k in KEYS] == expected
    # Points are reported as the system computes them (not the stored plus-one form).
    assert sorted(set(model[0])) == sorted(set(ring.points().position.tolist()))


@pytest.mark.parametrize("compat, weights", CASES)
def test_changes_equal_a_fresh_ring_and_pickles_round_trip(twin, compat, weights):
    ring = HashRing(dict(zip(SERVERS[:2], weights[:2])), compat=compat)
    for server, weight in zip(SERVERS[2:], weights[2:]):
        ring.add(server, weight)
    fresh = HashRing(dict(zip(SERVERS, weights)), compat=compat)
    assert ring.lookup_many(KEYS).tolist() == fresh.lookup_many(KEYS).tolist()
    ring.remove(SERVERS[1])
    rest = {s: w for s, w in zip(SERVERS, weights) if s != SERVERS[1]}
    assert ring.lookup_many(KEYS).tolist() == HashRing(rest, compat=compat).lookup_many(KEYS).tolist()
    loaded = pickle.loads(pickle.dumps(ring))
    assert loaded.compat == compat and loaded.lookup_many(KEYS).tolist() == ring.lookup_many(KEYS).tolist()


def test_libmemcached_switches_continuum_with_weights(twin):
    ring = HashRing(SERVERS, compat="libmemcached")
    ring.add("cache-e:11214", 2)  # a weight above 1: the MD5 continuum for every server
    weights = [1, 1, 1, 1, 2]
    servers = SERVERS + ["cache-e:11214"]
    assert ring.lookup_many(KEYS).tolist() == model_lookup(libmemcached_model(servers, weights, False), KEYS)
    ring.remove("cache-e:11214")
    assert ring.lookup_many(KEYS).tolist() == model_lookup(libmemcached_model(SERVERS, [1] * 4, False), KEYS)


def test_twins_agree_on_system_rings(compiled):
    for compat, weights in CASES:
        results = []
        for name in ("cython", "python"):
            with use_twin(name):
                ring = HashRing(dict(zip(SERVERS, weights)), compat=compat)
                results.append((ring.lookup_many(KEYS).tolist(), ring.replicas_many(KEYS[:50], 2).tolist()))
        assert results[0] == results[1], compat


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"compat": "nginx", "vnodes": 10}, ValueError, "fixes the points per server"),
        ({"compat": "libmemcached", "algorithm": "xxh64"}, ValueError, "fixes the hash"),
        ({"compat": "memcache"}, ValueError, "unknown compat"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        HashRing(SERVERS, **kwargs)
    with pytest.raises(ValueError, match="integer weights"):
        HashRing({"a:1": 1.5}, compat="nginx")  # integer weights, as nginx's weight=


# -- the real systems -------------------------------------------------------------------


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port, proc, what):
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"{what} did not start on port {port}")


def _need(binary):
    import os

    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if shutil.which(f"/usr/sbin/{binary}") else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{binary} is not installed (.ci/run installs it)")
        pytest.skip(f"{binary} is not installed")
    return path


@pytest.fixture(scope="module")
def memcached_servers():
    binary = servers.require("memcached")
    started = []
    try:
        for _ in range(3):
            started.append(servers.memcached(binary))
        yield [f"127.0.0.1:{s.port}" for s in started]
    finally:
        for server in started:
            server.stop()


@pytest.mark.parametrize(
    "behaviors, compat, weights",
    [
        ({"ketama": True}, "libmemcached", [1, 1, 1]),
        ({"ketama": True}, "libmemcached", [1, 2, 5]),
        ({"ketama_weighted": True}, "libmemcached_weighted", [1, 1, 1]),
        ({"ketama_weighted": True}, "libmemcached_weighted", [3, 1, 2]),
    ],
)
def test_libmemcached_against_pylibmc_and_memcached(memcached_servers, behaviors, compat, weights):
    pylibmc = pytest.importorskip("pylibmc")
    client = pylibmc.Client([f"{s}:{w}" for s, w in zip(memcached_servers, weights)], behaviors=behaviors)
    client.flush_all()
    keys = [f"user:{i}" for i in range(300)]
    for k in keys:
        client.set(k, "1")
    direct = [pylibmc.Client([s]) for s in memcached_servers]
    where = []
    for k in keys:
        holders = [i for i, d in enumerate(direct) if d.get(k) is not None]
        assert len(holders) == 1
        where.append(holders[0])
    ring = HashRing(dict(zip(memcached_servers, weights)), compat=compat)
    assert ring.lookup_many(keys).tolist() == where


@pytest.fixture(scope="module")
def nginx_pool(tmp_path_factory):
    binary = _need("nginx")
    root = tmp_path_factory.mktemp("nginx")
    front, *backends = (_free_port() for _ in range(4))
    weights = [1, 2, 1]
    servers = "\n".join(
        f"        server 127.0.0.1:{p} weight={w};" for p, w in zip(backends, weights)
    )
    answers = "\n".join(
        f'    server {{ listen 127.0.0.1:{p}; location / {{ return 200 "{i}"; }} }}' for i, p in enumerate(backends)
    )
    temp = " ".join(f"{d}_temp_path {root};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (root / "nginx.conf").write_text(
        f"""daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    {temp}
    upstream pool {{
        hash $arg_k consistent;
{servers}
    }}
    server {{ listen 127.0.0.1:{front}; location / {{ proxy_pass http://pool; }} }}
{answers}
}}
"""
    )
    proc = subprocess.Popen([binary, "-p", str(root), "-c", str(root / "nginx.conf")], stderr=subprocess.DEVNULL)
    try:
        _wait_for(front, proc, "nginx")
        yield front, {f"127.0.0.1:{p}": w for p, w in zip(backends, weights)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_nginx_against_a_real_nginx(nginx_pool):
    front, servers = nginx_pool
    # $arg_k is the raw query text: hash exactly what was sent. (An empty key is not
    # hashed: nginx falls back to round robin for it, see the HashRing docstring.)
    raw = [urllib.parse.quote(f"user:{i}", safe=":") for i in range(300)] + ["%C3%A9", "a%20b"]
    answers = [int(urllib.request.urlopen(f"http://127.0.0.1:{front}/?k={r}").read()) for r in raw]
    assert HashRing(servers, compat="nginx").lookup_many(raw).tolist() == answers
