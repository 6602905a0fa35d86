"""jump_hash and jumpback_hash: reference answers, monotonicity, balance, twins, errors."""

import struct

import jump
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastring import hash_keys, jump_hash, jumpback_hash

M64 = 2**64 - 1
EDGE_KEYS = [0, 1, 2, 2**31, 2**32 - 1, 2**33, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]
BUCKETS = [1, 2, 3, 7, 10, 100, 1000, 65536, 1_000_003, 2**31 - 2, 2**31 - 1]


def random_keys(n=2000, seed=7):
    return np.random.default_rng(seed).integers(0, 2**64, size=n, dtype=np.uint64)


def guava_consistent_hash(key: int, buckets: int) -> int:
    """Guava's Hashing.consistentHash(long, int), transcribed (Java long/int wrapping)."""
    h = key & M64
    candidate = 0
    while True:
        h = (2862933555777941757 * h + 1) & M64
        top = h >> 33  # (int) (h >>> 33) + 1 in Java int arithmetic
        denominator = top + 1 if top + 1 < 2**31 else top + 1 - 2**32
        inv = 2147483648.0 / denominator
        nxt = int((candidate + 1) * inv)
        if 0 <= nxt < buckets:
            candidate = nxt
        else:
            return candidate


# --------------------------------------------------------------------------- reference answers


@pytest.mark.parametrize("num_buckets", BUCKETS)
def test_jump_equals_jump_package(twin, num_buckets):
    keys = np.concatenate([random_keys(), np.array(EDGE_KEYS, dtype=np.uint64)])
    expected = [jump.hash(k, num_buckets) for k in keys.tolist()]
    assert jump_hash(keys, num_buckets, algorithm=None).tolist() == expected
    for k in EDGE_KEYS + keys[:50].tolist():
        assert jump_hash(k, num_buckets, algorithm=None) == jump.hash(k, num_buckets)


def test_jump_equals_pure_python_reference_and_guava(twin):
    keys = random_keys(500, seed=11).tolist()
    for n in (1, 5, 128, 10**6):
        ours = jump_hash(keys, n, algorithm=None).tolist()
        assert ours == [jump.py_hash(k, n) for k in keys]
        assert ours == [guava_consistent_hash(k, n) for k in keys]


def test_jump_negative_keys_are_twos_complement(twin):
    keys = [-1, -2, -(2**63), -12345]
    assert jump_hash(keys, 1000, algorithm=None).tolist() == [jump.hash(k & M64, 1000) for k in keys]
    assert jump_hash(np.array(keys, dtype=np.int64), 1000, algorithm=None).tolist() == [
        jump.hash(k, 1000) for k in keys
    ]


def test_jump_integer_containers_agree(twin):
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    values = [0, 1, 5, 127, 2**40]
    expected = [jump.hash(v, 97) for v in values]
    containers = [
        values,
        tuple(values),
        np.array(values, dtype=np.uint64),
        np.array(values, dtype=np.int64),
        pd.Series(values),
        pa.array(values, type=pa.int64()),
        pa.chunked_array([values[:2], values[2:]], type=pa.uint64()),
        iter(values),
    ]
    for container in containers:
        assert jump_hash(container, 97, algorithm=None).tolist() == expected
    small = np.array([0, 1, 5, 127], dtype=np.int8)
    assert jump_hash(small, 97, algorithm=None).tolist() == expected[:4]
    assert jump_hash([True, 2**64 - 1], 97, algorithm=None).tolist() == [jump.hash(1, 97), jump.hash(2**64 - 1, 97)]


@pytest.mark.parametrize("algorithm", ["xxh64", "xxh3_64", "murmur3_32", "murmur3_64", "fnv1a_64", "md5_32"])
def test_jump_hashes_keys_first(twin, algorithm):
    keys = [f"user:{i}" for i in range(300)] + [b"raw", 5, -5]
    hashes = hash_keys(keys, algorithm).astype(np.uint64).tolist()
    assert jump_hash(keys, 33, algorithm=algorithm).tolist() == [jump.hash(h, 33) for h in hashes]
    assert jump_hash("user:7", 33, algorithm=algorithm) == jump.hash(hashes[7], 33)
    default = jump_hash(keys, 33) if algorithm == "xxh64" else None
    if default is not None:
        assert default.tolist() == jump_hash(keys, 33, algorithm="xxh64").tolist()


def test_results_are_int32_and_scalars_are_int(twin):
    out = jump_hash(np.arange(10), 5)
    assert out.dtype == np.int32 and out.shape == (10,)
    assert jump_hash([], 5).shape == (0,)
    assert type(jump_hash(3, 5)) is int
    assert jumpback_hash(np.arange(10), 5).dtype == np.int32
    assert type(jumpback_hash("k", 5)) is int


def komihash5_0_blocks(data: bytes) -> int:
    """komihash 5.0 (Vaneev; hash4j's Komihash5_0, seed 0) of a message whose length is
    a nonzero multiple of 64 bytes: the only case the checksum below needs."""
    assert len(data) and len(data) % 64 == 0
    words = struct.unpack(f"<{len(data) // 8}Q", data)
    s1 = 0x243F6A8885A308D3
    s5 = 0x452821E638D01377
    r = s1 * s5
    s5 = (s5 + (r >> 64)) & M64
    s1 = s5 ^ (r & M64)
    see = [s1, 0x13198A2E03707344 ^ s1, 0xA4093822299F31D0 ^ s1, 0x082EFA98EC4E6C89 ^ s1,
           s5, 0xBE5466CF34E90C6C ^ s5, 0xC0AC29B7C97C50DD ^ s5, 0x3F84D5B5B5470917 ^ s5]
    see1, see2, see3, see4, see5, see6, see7, see8 = see
    for w in range(0, len(words), 8):
        r1 = (see1 ^ words[w]) * (see5 ^ words[w + 4])
        r2 = (see2 ^ words[w + 1]) * (see6 ^ words[w + 5])
        r3 = (see3 ^ words[w + 2]) * (see7 ^ words[w + 6])
        r4 = (see4 ^ words[w + 3]) * (see8 ^ words[w + 7])
        see5 = (see5 + (r1 >> 64)) & M64
        see6 = (see6 + (r2 >> 64)) & M64
        see7 = (see7 + (r3 >> 64)) & M64
        see8 = (see8 + (r4 >> 64)) & M64
        see2 = see5 ^ (r2 & M64)
        see3 = see6 ^ (r3 & M64)
        see4 = see7 ^ (r4 & M64)
        see1 = see8 ^ (r1 & M64)
    see5 ^= see6 ^ see7 ^ see8
    see1 ^= see2 ^ see3 ^ see4
    r2h, r2l = see5, see1 ^ 1  # no tail bytes; the final-byte marker of a nonzero length
    r = r2l * r2h
    see5 = (see5 + (r >> 64)) & M64
    see1 = see5 ^ (r & M64)
    r = see1 * see5
    see5 = (see5 + (r >> 64)) & M64
    return (r & M64) ^ see5


def splittable_random(seed: int, count: int) -> np.ndarray:
    """The first ``count`` seeds of java.util.SplittableRandom(seed): seed + k * GOLDEN_GAMMA."""
    steps = np.arange(1, count + 1, dtype=np.uint64)
    return np.uint64(seed) + steps * np.uint64(0x9E3779B97F4A7C15)


def java_mix64(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def java_mix32(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(33))) * np.uint64(0x62A9D9ED799705F5)
    return ((z ^ (z >> np.uint64(28))) * np.uint64(0xCB24D0A5C88C35B3)) >> np.uint64(32)


def test_jumpback_equals_hash4j_checksum():
    """hash4j's published checksum of ConsistentHashing.jumpBackHash(splitMix64_V1()):
    1,000,000 (hash, numBuckets) pairs from SplittableRandom(0x0a55871a9d9103b7),
    numBuckets = max(1, nextInt() >>> 1 >>> nextInt()), buckets fed as little-endian
    ints to komihash 5.0 (AbstractConsistentBucketHasherTest.testCheckSum)."""
    from fastring import _routers

    count = 1_000_000
    seeds = splittable_random(0x0A55871A9D9103B7, 3 * count).reshape(count, 3)
    first, second = java_mix32(seeds[:, 0]), java_mix32(seeds[:, 1])
    buckets = np.maximum(1, (first >> np.uint64(1)) >> (second & np.uint64(31))).tolist()
    hashes = java_mix64(seeds[:, 2]).tolist()
    one = _routers.jumpback_one
    out = np.fromiter((one(h, n) for h, n in zip(hashes, buckets)), dtype="<i4", count=count)
    assert komihash5_0_blocks(out.tobytes()) == 0x23D7A0D288CD67E7


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("fn", [jump_hash, jumpback_hash], ids=["jump", "jumpback"])
def test_monotone_small(twin, fn):
    """Growing n by one moves keys only to the new bucket n."""
    keys = random_keys(3000, seed=3)
    previous = fn(keys, 1, algorithm=None)
    assert (previous == 0).all()
    for n in range(2, 300):
        current = fn(keys, n, algorithm=None)
        moved = current != previous
        assert (current[moved] == n - 1).all(), n
        assert 0 <= current.min() and current.max() < n
        previous = current


@pytest.mark.parametrize("fn", [jump_hash, jumpback_hash], ids=["jump", "jumpback"])
@pytest.mark.parametrize("n", [2**28 - 1, 2**30, 2**30 + 1, 0x60000000, 2**31 - 2])
def test_monotone_large(twin, fn, n):
    keys = random_keys(2000, seed=n)
    here = fn(keys, n, algorithm=None)
    assert (here >= 0).all() and (here < n).all()
    # With b = bucket(k, n): bucket(k, b + 1) == b and bucket(k, b) < b.
    for k, b in zip(keys.tolist()[:200], here.tolist()[:200]):
        assert fn(k, b + 1, algorithm=None) == b
        if b:
            assert fn(k, b, algorithm=None) < b


def chi_square(counts: np.ndarray, expected: np.ndarray) -> float:
    return float(((counts - expected) ** 2 / expected).sum())


def assert_balanced(counts, expected, sigmas=6.0):
    """Chi-square within `sigmas` standard deviations of its mean (df = k - 1)."""
    counts = np.asarray(counts, dtype=np.float64)
    df = len(counts) - 1
    stat = chi_square(counts, np.asarray(expected, dtype=np.float64))
    assert stat < df + sigmas * np.sqrt(2 * df), (stat, df)


@pytest.mark.parametrize("fn", [jump_hash, jumpback_hash], ids=["jump", "jumpback"])
@pytest.mark.parametrize("n", [2, 7, 100, 1000])
def test_balance(twin, fn, n):
    keys = np.arange(200_000)  # hashed with xxh64 first
    counts = np.bincount(fn(keys, n), minlength=n)
    assert_balanced(counts, np.full(n, len(keys) / n))


def test_jumpback_large_n_covers_range(twin):
    keys = random_keys(100_000, seed=5)
    n = 2**31 - 1
    buckets = jumpback_hash(keys, n, algorithm=None).astype(np.int64)
    # Uniform over [0, n): each half and each parity holds about half of the keys.
    for share in ((buckets < n // 2).mean(), (buckets % 2 == 0).mean()):
        assert abs(share - 0.5) < 0.01


# --------------------------------------------------------------------------- twins


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=M64), max_size=40),
    st.one_of(st.integers(min_value=1, max_value=300), st.integers(min_value=1, max_value=2**31 - 1)),
)
def test_kernel_parity(compiled, keys, n):
    c, p = compiled["routers"]
    array = np.array(keys, dtype=np.uint64)
    for kernel in ("jump_many", "jumpback_many"):
        out_c = np.empty(len(keys), dtype=np.int32)
        out_p = np.empty(len(keys), dtype=np.int32)
        getattr(c, kernel)(array, n, out_c)
        getattr(p, kernel)(array, n, out_p)
        np.testing.assert_array_equal(out_c, out_p)
    for k in keys[:5]:
        assert c.jump_one(k, n) == p.jump_one(k, n) == jump.hash(k, n)
        assert c.jumpback_one(k, n) == p.jumpback_one(k, n)


def test_kernel_parity_many_keys(compiled):
    """More keys than the compiled twin's lockstep lanes, odd counts included."""
    c, p = compiled["routers"]
    for m in (0, 1, 7, 8, 9, 1001):
        keys = random_keys(m, seed=m)
        for n in (1, 2, 1000, 2**31 - 1):
            for kernel in ("jump_many", "jumpback_many"):
                out_c = np.empty(m, dtype=np.int32)
                out_p = np.empty(m, dtype=np.int32)
                getattr(c, kernel)(keys, n, out_c)
                getattr(p, kernel)(keys, n, out_p)
                np.testing.assert_array_equal(out_c, out_p)


def test_kernels_check_lengths(compiled):
    for module in compiled["routers"]:
        with pytest.raises(ValueError):
            module.jump_many(np.zeros(3, dtype=np.uint64), 5, np.empty(2, dtype=np.int32))
        with pytest.raises(ValueError):
            module.jumpback_many(np.zeros(3, dtype=np.uint64), 5, np.empty(4, dtype=np.int32))


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("fn", [jump_hash, jumpback_hash], ids=["jump", "jumpback"])
def test_bad_num_buckets(twin, fn):
    for bad in (0, -1, 2**31, 2**40):
        with pytest.raises(ValueError, match="num_buckets"):
            fn([1, 2], bad)
        with pytest.raises(ValueError, match="num_buckets"):
            fn(1, bad)
    for bad in (1.5, "3", None, True):
        with pytest.raises(TypeError, match="num_buckets"):
            fn([1, 2], bad)
    assert fn([1, 2], np.int64(3)).shape == (2,)


@pytest.mark.parametrize("fn", [jump_hash, jumpback_hash], ids=["jump", "jumpback"])
def test_algorithm_none_needs_integer_keys(twin, fn):
    with pytest.raises(TypeError, match="position 2.*str.*algorithm=None"):
        fn([1, 2, "three"], 10, algorithm=None)
    with pytest.raises(TypeError, match="position 1.*float"):
        fn([1, 2.0], 10, algorithm=None)
    with pytest.raises(TypeError, match="position 1.*NoneType"):
        fn([1, None], 10, algorithm=None)
    with pytest.raises(TypeError, match="algorithm=None"):
        fn("text", 10, algorithm=None)
    with pytest.raises(TypeError, match="algorithm=None"):
        fn(np.array(["a", "b"]), 10, algorithm=None)
    with pytest.raises(TypeError, match="algorithm=None"):
        fn([b"a"], 10, algorithm=None)
    with pytest.raises(OverflowError, match="position 1"):
        fn([1, 2**64], 10, algorithm=None)
    with pytest.raises(OverflowError):
        fn(-(2**63) - 1, 10, algorithm=None)


@pytest.mark.parametrize("fn", [jump_hash, jumpback_hash], ids=["jump", "jumpback"])
def test_bad_keys_and_algorithm(twin, fn):
    with pytest.raises(ValueError, match="unknown algorithm"):
        fn([1], 10, algorithm="sha1")
    with pytest.raises(ValueError, match="unknown algorithm"):
        fn(1, 10, algorithm="sha1")
    with pytest.raises(TypeError, match="float"):
        fn(1.5, 10)
    with pytest.raises(TypeError, match="position 1"):
        fn(["a", 1.5], 10)
    with pytest.raises(TypeError):
        fn(None, 10)


# --------------------------------------------------------------------------- JumpRouter


@pytest.mark.parametrize("algorithm", [None, "xxh64", "murmur3_32"])
def test_jump_router_is_jump_hash_over_names(twin, algorithm):
    import pickle

    from fastring import JumpRouter

    names = [f"shard-{i}" for i in range(13)]
    router = JumpRouter(names, algorithm=algorithm)
    keys = random_keys(3000) if algorithm is None else [f"user:{i}" for i in range(3000)]
    expected = jump_hash(keys, 13, algorithm=algorithm)
    np.testing.assert_array_equal(router.lookup_many(keys), expected)
    assert [router.lookup(k) for k in keys[:300]] == [names[b] for b in expected[:300]]
    if algorithm is None:
        assert [router.lookup(int(k)) for k in keys[:50]] == [names[jump.hash(int(k), 13)] for k in keys[:50]]
    clone = pickle.loads(pickle.dumps(router))
    assert clone.nodes == router.nodes and clone.algorithm == algorithm
    np.testing.assert_array_equal(clone.lookup_many(keys), expected)
    copy = router.copy()
    router.add("shard-13")  # the new last bucket takes keys from the others only
    after = router.lookup_many(keys)
    assert set(after[after != expected].tolist()) == {13}
    np.testing.assert_array_equal(copy.lookup_many(keys), expected)  # the copy is independent
    router.remove("shard-13")
    np.testing.assert_array_equal(router.lookup_many(keys), expected)


def test_jump_router_refuses_what_jump_cannot_do(twin):
    import pickle

    from fastring import JumpRouter

    router = JumpRouter(["a", "b", "c"])
    with pytest.raises(ValueError, match="removes only its last node.*MementoRouter"):
        router.remove("a")
    with pytest.raises(KeyError, match="'z' is not in the jump router"):
        router.remove("z")
    with pytest.raises(ValueError, match="already"):
        router.add("b")
    with pytest.raises(ValueError, match="unknown algorithm|algorithm"):
        JumpRouter(["a"], algorithm="sha1")
    with pytest.raises(TypeError):
        JumpRouter(["a"], algorithm=None).lookup_many(["text"])
    empty = JumpRouter([])
    with pytest.raises(LookupError):
        empty.lookup("k")
    assert empty.lookup_many([]).tolist() == []
    with pytest.raises(LookupError):
        empty.lookup_many(["k"])
    state = router.__getstate__()
    for bad in ({**state, "version": 99}, {**state, "nodes": ["a", "a"]}, {**state, "algorithm": "nope"}):
        clone = object.__new__(JumpRouter)
        with pytest.raises(ValueError):
            clone.__setstate__(bad)
    assert pickle.loads(pickle.dumps(empty)).nodes == ()
