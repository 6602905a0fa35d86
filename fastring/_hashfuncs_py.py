"""Pure-Python twin of ``_hashfuncs.pxd``: the hash functions on one bytes value,
the table of algorithm ids, and SplitMix64.

Every function here returns, bit for bit, what the reference implementations
return: python-xxhash (XXH64, XXH3-64), mmh3 (MurmurHash3 x86_32 and the first
64 bits of x64_128), FNV-1a 64 and hashlib's MD5. The code follows the published
specifications:

- xxHash: ``doc/xxhash_spec.md`` in Cyan4973/xxHash (section names are cited
  in the comments below).
- MurmurHash3: ``src/MurmurHash3.cpp`` in aappleby/smhasher.
- FNV-1a: Fowler/Noll/Vo, 64-bit offset basis and prime.
- SplitMix64: Steele, Lea & Flood, "Fast splittable pseudorandom number
  generators" (OOPSLA 2014).

All arithmetic is modulo 2**64 (or 2**32): Python integers are unbounded, so
every result that could exceed the word size is masked with ``& _M64``
(``& _M32``).

Seeds are taken modulo the algorithm's seed width: 64 bits for the xxHash
family, 32 bits for MurmurHash3 (as ``mmh3`` and the C code do). FNV-1a and
MD5 take no seed; the ``seed`` argument of the dispatchers is ignored for them.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ALGORITHM_TABLE",
    "TEXT_ONLY",
    "FNV1A_64",
    "MD5_32",
    "MURMUR3_32",
    "MURMUR3_64",
    "SPLITMIX_GAMMA",
    "XXH3_64",
    "XXH64",
    "fnv1a_64",
    "hash_scalar",
    "md5_32",
    "mix64",
    "mix64_array",
    "murmur3_32",
    "murmur3_64",
    "xxh3_64",
    "xxh64",
]

# Algorithm ids: the contract with the Python layer. The compiled twin's ids are the
# ALGO_* enum of _hashfuncs.pxd; tests/test_tables.py checks that the two agree.
XXH64 = 0
XXH3_64 = 1
MURMUR3_32 = 2
MURMUR3_64 = 3
FNV1A_64 = 4
MD5_32 = 5
# The systems' own hashes (fastring.compat): names with a ":" are not in ALGORITHMS.
KAFKA_MURMUR2 = 6
REDIS_SLOT = 7
CASSANDRA_TOKEN = 8
SPARK_MURMUR3 = 9
MURMUR3_UTF16 = 10
PANDAS_SIPHASH = 11
ONE_AT_A_TIME = 12
CRC32 = 13

#: ``(name, id, output bits, seed bits)`` of every algorithm, in id order: the one
#: table ``fastring.hashing`` builds ALGORITHMS from (seed bits 0: no seed).
ALGORITHM_TABLE = (
    ("xxh64", XXH64, 64, 64),
    ("xxh3_64", XXH3_64, 64, 64),
    ("murmur3_32", MURMUR3_32, 32, 32),
    ("murmur3_64", MURMUR3_64, 64, 32),
    ("fnv1a_64", FNV1A_64, 64, 0),
    ("md5_32", MD5_32, 32, 0),
    ("kafka:murmur2", KAFKA_MURMUR2, 32, 0),
    ("redis:slot", REDIS_SLOT, 32, 0),
    ("cassandra:token", CASSANDRA_TOKEN, 64, 0),
    ("spark:murmur3", SPARK_MURMUR3, 32, 32),
    ("elasticsearch:murmur3_utf16", MURMUR3_UTF16, 32, 32),
    ("pandas:siphash", PANDAS_SIPHASH, 64, 0),
    ("libmemcached:one_at_a_time", ONE_AT_A_TIME, 32, 0),
    ("nginx:crc32", CRC32, 32, 0),
)

_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF

_u32_at = struct.Struct("<I").unpack_from
_u64_at = struct.Struct("<Q").unpack_from


def _u64_lanes(data: bytes, count: int, offset: int = 0) -> tuple[int, ...]:
    """``count`` little-endian uint64 values read from ``data`` at ``offset``."""
    return struct.unpack_from("<%dQ" % count, data, offset)


# ---------------------------------------------------------------------------
# XXH64  (xxhash_spec.md, "XXH64 Algorithm Description")
# ---------------------------------------------------------------------------

_P64_1 = 0x9E3779B185EBCA87
_P64_2 = 0xC2B2AE3D27D4EB4F
_P64_3 = 0x165667B19E3779F9
_P64_4 = 0x85EBCA77C2B2AE63
_P64_5 = 0x27D4EB2F165667C5


def _xxh64_round(acc: int, lane: int) -> int:
    """Step 2 ``round(accN, laneN)``: (acc + lane * P2) <<< 31, times P1."""
    acc = (acc + lane * _P64_2) & _M64
    acc = ((acc << 31) | (acc >> 33)) & _M64
    return (acc * _P64_1) & _M64


def _xxh64_stripes(data: bytes, n: int, seed: int) -> int:
    """Steps 1-3 for inputs of 32 bytes or more: the converged accumulator."""
    # Step 1. Initialize internal accumulators.
    v1 = (seed + _P64_1 + _P64_2) & _M64
    v2 = (seed + _P64_2) & _M64
    v3 = seed
    v4 = (seed - _P64_1) & _M64
    # Step 2. Process stripes of 32 bytes = 4 lanes of 8 bytes.
    lanes = _u64_lanes(data, (n >> 5) << 2)
    rnd = _xxh64_round
    for i in range(0, len(lanes), 4):
        v1 = rnd(v1, lanes[i])
        v2 = rnd(v2, lanes[i + 1])
        v3 = rnd(v3, lanes[i + 2])
        v4 = rnd(v4, lanes[i + 3])
    # Step 3. Accumulator convergence.
    acc = (
        ((v1 << 1) | (v1 >> 63))
        + ((v2 << 7) | (v2 >> 57))
        + ((v3 << 12) | (v3 >> 52))
        + ((v4 << 18) | (v4 >> 46))
    ) & _M64
    for v in (v1, v2, v3, v4):  # mergeAccumulator(acc, accN)
        acc = ((acc ^ rnd(0, v)) * _P64_1 + _P64_4) & _M64
    return acc


# Step 5 multiplies every trailing byte by PRIME64_5: look the product up.
_XXH64_BYTE = [(b * _P64_5) & _M64 for b in range(256)]


def xxh64(data: bytes, seed: int) -> int:
    """XXH64 of ``data`` (bytes) with a 64-bit ``seed``; == ``xxhash.xxh64_intdigest``."""
    # Hot path for short keys: a value is masked only where its high bits would
    # leak into the result (before a right shift or a comparison); a rotation
    # feeding a multiplication needs no mask, the product is reduced anyway.
    n = len(data)
    seed &= _M64
    if n >= 32:
        acc = _xxh64_stripes(data, n, seed)
        p = n & ~31
    else:
        # Special case: input is less than 32 bytes.
        acc = seed + _P64_5
        p = 0
    # Step 4. Add input length.
    acc = (acc + n) & _M64
    # Step 5. Consume remaining input (the whole input for short keys, so the
    # round is inlined here).
    while p + 8 <= n:
        k = (_u64_at(data, p)[0] * _P64_2) & _M64
        acc ^= (((k << 31) | (k >> 33)) * _P64_1) & _M64
        acc = (((acc << 27) | (acc >> 37)) * _P64_1 + _P64_4) & _M64
        p += 8
    if p + 4 <= n:
        acc = (acc ^ (_u32_at(data, p)[0] * _P64_1)) & _M64
        acc = (((acc << 23) | (acc >> 41)) * _P64_2 + _P64_3) & _M64
        p += 4
    while p < n:
        acc ^= _XXH64_BYTE[data[p]]
        acc = (((acc << 11) | (acc >> 53)) * _P64_1) & _M64
        p += 1
    # Step 6. Final mix (avalanche).
    acc ^= acc >> 33
    acc = (acc * _P64_2) & _M64
    acc ^= acc >> 29
    acc = (acc * _P64_3) & _M64
    return acc ^ (acc >> 32)


# ---------------------------------------------------------------------------
# XXH3-64  (xxhash_spec.md, "XXH3 Algorithm Overview" and the three sections
# for small, medium and large inputs)
# ---------------------------------------------------------------------------

_P32_1 = 0x9E3779B1
_P32_2 = 0x85EBCA77
_P32_3 = 0xC2B2AE3D
_PRIME_MX1 = 0x165667919E3779F9
_PRIME_MX2 = 0x9FB21C651E98DF25

# "Seed and Secret": the default 192-byte secret.
_DEFAULT_SECRET = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
    "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e"
    "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e"
)
_SECRET_LEN = 192
assert len(_DEFAULT_SECRET) == _SECRET_LEN

# Secret words of the short paths, folded once (the default secret is fixed).
_S_EMPTY: int = _u64_at(_DEFAULT_SECRET, 56)[0] ^ _u64_at(_DEFAULT_SECRET, 64)[0]
_S_1TO3: int = _u32_at(_DEFAULT_SECRET, 0)[0] ^ _u32_at(_DEFAULT_SECRET, 4)[0]
_S_4TO8: int = _u64_at(_DEFAULT_SECRET, 8)[0] ^ _u64_at(_DEFAULT_SECRET, 16)[0]
_S_9TO16_LO: int = _u64_at(_DEFAULT_SECRET, 24)[0] ^ _u64_at(_DEFAULT_SECRET, 32)[0]
_S_9TO16_HI: int = _u64_at(_DEFAULT_SECRET, 40)[0] ^ _u64_at(_DEFAULT_SECRET, 48)[0]

# The medium paths read the secret as 16-byte pairs at these byte offsets:
# 17-128 at i*16 (i < 8); 129-240 at i*16 (i < 8), then (i-8)*16 + 3, then 119.
_S_PAIRS = {
    off: _u64_lanes(_DEFAULT_SECRET, 2, off)
    for off in list(range(0, 128, 16)) + list(range(3, 115, 16)) + [119]
}


def _avalanche_xxh64(x: int) -> int:
    """``avalanche_XXH64(x)``: the XXH64 final mix."""
    x ^= x >> 33
    x = (x * _P64_2) & _M64
    x ^= x >> 29
    x = (x * _P64_3) & _M64
    return x ^ (x >> 32)


def _avalanche(x: int) -> int:
    """``avalanche(x)``: the XXH3 final mix."""
    x ^= x >> 37
    x = (x * _PRIME_MX1) & _M64
    return x ^ (x >> 32)


def _mul128_fold64(a: int, b: int) -> int:
    """Full 64x64 -> 128-bit product, lower half xor higher half."""
    m = a * b
    return (m ^ (m >> 64)) & _M64


def _xxh3_empty(seed: int) -> int:
    """Small inputs, "Empty input"."""
    return _avalanche_xxh64(seed ^ _S_EMPTY)


def _xxh3_1to3(data: bytes, n: int, seed: int) -> int:
    """Small inputs, "1-3 bytes of input"."""
    combined = data[n - 1] | (n << 8) | (data[0] << 16) | (data[n >> 1] << 24)
    return _avalanche_xxh64(((_S_1TO3 + seed) & _M64) ^ combined)


def _xxh3_4to8(data: bytes, n: int, seed: int) -> int:
    """Small inputs, "4-8 bytes of input"."""
    lo32 = seed & _M32
    bswap = int.from_bytes(lo32.to_bytes(4, "little"), "big")
    seed ^= bswap << 32  # modifiedSeed
    combined: int = _u32_at(data, n - 4)[0] | (_u32_at(data, 0)[0] << 32)
    x = ((_S_4TO8 - seed) & _M64) ^ combined
    x ^= (((x << 49) | (x >> 15)) ^ ((x << 24) | (x >> 40))) & _M64
    x = (x * _PRIME_MX2) & _M64
    x ^= (x >> 35) + n
    x = (x * _PRIME_MX2) & _M64
    return x ^ (x >> 28)


def _xxh3_9to16(data: bytes, n: int, seed: int) -> int:
    """Small inputs, "9-16 bytes of input"."""
    lo = ((_S_9TO16_LO + seed) & _M64) ^ _u64_at(data, 0)[0]
    hi = ((_S_9TO16_HI - seed) & _M64) ^ _u64_at(data, n - 8)[0]
    lo_swapped = int.from_bytes(lo.to_bytes(8, "little"), "big")  # bswap64
    m = lo * hi
    return _avalanche((n + lo_swapped + hi + ((m ^ (m >> 64)) & _M64)) & _M64)


def _mix_step(data: bytes, offset: int, secret_offset: int, seed: int) -> int:
    """Medium inputs, "Mixing operation" ``mixStep`` on the default secret."""
    d0, d1 = _u64_lanes(data, 2, offset)
    s0, s1 = _S_PAIRS[secret_offset]
    return _mul128_fold64(d0 ^ ((s0 + seed) & _M64), d1 ^ ((s1 - seed) & _M64))


def _xxh3_17to128(data: bytes, n: int, seed: int) -> int:
    """Medium inputs, "17-128 bytes of input" then "Finalization"."""
    acc = (n * _P64_1) & _M64
    for i in range(((n - 1) >> 5), -1, -1):
        acc += _mix_step(data, i * 16, i * 32, seed)
        acc += _mix_step(data, n - i * 16 - 16, i * 32 + 16, seed)
    return _avalanche(acc & _M64)


def _xxh3_129to240(data: bytes, n: int, seed: int) -> int:
    """Medium inputs, "129-240 bytes of input" then "Finalization"."""
    acc = (n * _P64_1) & _M64
    for i in range(8):
        acc += _mix_step(data, i * 16, i * 16, seed)
    acc = _avalanche(acc & _M64)
    for i in range(8, n >> 4):
        acc += _mix_step(data, i * 16, (i - 8) * 16 + 3, seed)
    acc += _mix_step(data, n - 16, 119, seed)
    return _avalanche(acc & _M64)


def _xxh3_derive_secret(seed: int) -> bytes:
    """Section "Seed and Secret", ``deriveSecret(seed)``: the secret for > 240 bytes."""
    words = list(_u64_lanes(_DEFAULT_SECRET, _SECRET_LEN // 8))
    for i in range(0, len(words), 2):
        words[i] = (words[i] + seed) & _M64
        words[i + 1] = (words[i + 1] - seed) & _M64
    return struct.pack("<%dQ" % len(words), *words)


def _xxh3_long(data: bytes, n: int, secret: bytes) -> int:
    """Large inputs (> 240 bytes), steps 1-4, 64-bit result."""
    # Step 1. Initialize internal accumulators.
    acc = [_P32_3, _P64_1, _P64_2, _P64_3, _P64_4, _P32_2, _P64_5, _P32_1]
    stripes_per_block = (_SECRET_LEN - 64) // 8  # 16
    block_len = 64 * stripes_per_block  # 1024
    # The secret window of stripe s starts at byte s*8, i.e. at word s.
    sec = _u64_lanes(secret, _SECRET_LEN // 8)
    scramble = sec[-8:]  # the last 64 bytes of the secret

    def accumulate(lanes: Sequence[int], sw: Sequence[int]) -> None:
        # Step 2-1 ``accumulate``; sums are reduced modulo 2**64 by the caller.
        for i in range(8):
            lane = lanes[i]
            v = lane ^ sw[i]
            acc[i ^ 1] += lane
            acc[i] += (v & _M32) * (v >> 32)

    # Step 2. Process every full block except the last one (<= block_len left).
    n_blocks = (n - 1) // block_len
    for b in range(n_blocks):
        lanes = _u64_lanes(data, block_len // 8, b * block_len)
        for s in range(stripes_per_block):
            accumulate(lanes[s * 8 : s * 8 + 8], sec[s : s + 8])
        # Step 2-2. Scramble accumulators.
        for i in range(8):
            a = acc[i] & _M64
            a ^= a >> 47
            acc[i] = ((a ^ scramble[i]) * _P32_1) & _M64
    # Step 3. The last block's full stripes (all but the last stripe), then the
    # last 64 bytes of input with the secret at secretLength - 71.
    start = n_blocks * block_len
    for s in range((n - start - 1) // 64):
        accumulate(_u64_lanes(data, 8, start + s * 64), sec[s : s + 8])
    accumulate(_u64_lanes(data, 8, n - 64), _u64_lanes(secret, 8, _SECRET_LEN - 71))
    # Step 4. Finalization: finalMerge(inputLength * PRIME64_1, 11).
    sw = _u64_lanes(secret, 8, 11)
    result = (n * _P64_1) & _M64
    for i in range(0, 8, 2):
        result += _mul128_fold64((acc[i] & _M64) ^ sw[i], (acc[i + 1] & _M64) ^ sw[i + 1])
    return _avalanche(result & _M64)


def xxh3_64(data: bytes, seed: int) -> int:
    """XXH3-64 of ``data`` with a 64-bit ``seed``; == ``xxhash.xxh3_64_intdigest``."""
    n = len(data)
    seed &= _M64
    if n <= 16:
        if n > 8:
            return _xxh3_9to16(data, n, seed)
        if n >= 4:
            return _xxh3_4to8(data, n, seed)
        if n:
            return _xxh3_1to3(data, n, seed)
        return _xxh3_empty(seed)
    if n <= 128:
        return _xxh3_17to128(data, n, seed)
    if n <= 240:
        return _xxh3_129to240(data, n, seed)
    # With a seed, inputs over 240 bytes use a secret derived from it.
    secret = _xxh3_derive_secret(seed) if seed else _DEFAULT_SECRET
    return _xxh3_long(data, n, secret)


# ---------------------------------------------------------------------------
# MurmurHash3  (smhasher src/MurmurHash3.cpp)
# ---------------------------------------------------------------------------

_MM32_C1 = 0xCC9E2D51
_MM32_C2 = 0x1B873593
_MM64_C1 = 0x87C37B91114253D5
_MM64_C2 = 0x4CF5AD432745937F
_FMIX64_C1 = 0xFF51AFD7ED558CCD
_FMIX64_C2 = 0xC4CEB9FE1A85EC53


def _mm3_32_k(k: int) -> int:
    k = (k * _MM32_C1) & _M32
    k = ((k << 15) | (k >> 17)) & _M32
    return (k * _MM32_C2) & _M32


def _mm3_32_block(h: int, k: int) -> int:
    """One MurmurHash3_x86_32 body step: mix the 4-byte block ``k`` into ``h``."""
    h ^= _mm3_32_k(k)
    h = ((h << 13) | (h >> 19)) & _M32
    return (h * 5 + 0xE6546B64) & _M32


def _fmix32(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def murmur3_32(data: bytes, seed: int) -> int:
    """MurmurHash3_x86_32, unsigned; == ``mmh3.hash(data, seed, signed=False)``."""
    n = len(data)
    h = seed & _M32
    nblocks = n >> 2
    for (k,) in struct.iter_unpack("<I", data[: nblocks << 2]):  # body: 4-byte blocks
        h = _mm3_32_block(h, k)
    tail = data[nblocks << 2 :]
    if tail:  # the last 1-3 bytes, little-endian: mixed, not a full block step
        h ^= _mm3_32_k(int.from_bytes(tail, "little"))
    return _fmix32(h ^ (n & _M32))


def _fmix64(k: int) -> int:
    """MurmurHash3 ``fmix64``."""
    k ^= k >> 33
    k = (k * _FMIX64_C1) & _M64
    k ^= k >> 33
    k = (k * _FMIX64_C2) & _M64
    return k ^ (k >> 33)


def _little(tail: bytes) -> int:
    return int.from_bytes(tail, "little")


def _signed_bytes(tail: bytes) -> int:
    """Cassandra's tail word: each byte sign-extended to a long, shifted, xor-ed in."""
    word = 0
    for j, b in enumerate(tail):
        word ^= ((b - 256 if b >= 128 else b) << (8 * j)) & _M64
    return word


def murmur3_64(data: bytes, seed: int) -> int:
    """First 64 bits (h1) of MurmurHash3_x64_128 with a 32-bit ``seed``.

    Equals ``int.from_bytes(mmh3.hash_bytes(data, seed)[:8], "little")``.
    """
    return _murmur3_x64_h1(data, seed & _M32, _little)


def _murmur3_x64_h1(data: bytes, seed: int, tail_word: Callable[[bytes], int]) -> int:
    n = len(data)
    h1 = h2 = seed
    # body: 16-byte blocks (k1, k2)
    nblocks = n >> 4
    lanes = _u64_lanes(data, nblocks * 2)
    for i in range(0, len(lanes), 2):
        k1 = (lanes[i] * _MM64_C1) & _M64
        k1 = ((k1 << 31) | (k1 >> 33)) & _M64
        h1 ^= (k1 * _MM64_C2) & _M64
        h1 = ((h1 << 27) | (h1 >> 37)) & _M64
        h1 = ((h1 + h2) * 5 + 0x52DCE729) & _M64
        k2 = (lanes[i + 1] * _MM64_C2) & _M64
        k2 = ((k2 << 33) | (k2 >> 31)) & _M64
        h2 ^= (k2 * _MM64_C1) & _M64
        h2 = ((h2 << 31) | (h2 >> 33)) & _M64
        h2 = ((h2 + h1) * 5 + 0x38495AB5) & _M64
    # tail: up to 15 bytes; bytes 8.. feed k2, bytes 0..7 feed k1
    tail = data[nblocks << 4 :]
    if len(tail) > 8:
        k2 = (tail_word(tail[8:]) * _MM64_C2) & _M64
        k2 = ((k2 << 33) | (k2 >> 31)) & _M64
        h2 ^= (k2 * _MM64_C1) & _M64
    if tail:
        k1 = (tail_word(tail[:8]) * _MM64_C1) & _M64
        k1 = ((k1 << 31) | (k1 >> 33)) & _M64
        h1 ^= (k1 * _MM64_C2) & _M64
    # finalization
    h1 ^= n
    h2 ^= n
    h1 = (h1 + h2) & _M64
    h2 = (h2 + h1) & _M64
    h1 = _fmix64(h1)
    h2 = _fmix64(h2)
    return (h1 + h2) & _M64


# ---------------------------------------------------------------------------
# FNV-1a 64 and MD5-32 (ketama)
# ---------------------------------------------------------------------------

_FNV64_OFFSET = 0xCBF29CE484222325
_FNV64_PRIME = 0x100000001B3


def fnv1a_64(data: bytes) -> int:
    """FNV-1a, 64-bit: for each byte, xor it in, then multiply by the FNV prime."""
    h = _FNV64_OFFSET
    for b in data:
        h = ((h ^ b) * _FNV64_PRIME) & _M64
    return h


def md5_32(data: bytes) -> int:
    """First 4 bytes of the MD5 digest, little-endian: the ketama key hash."""
    return int.from_bytes(hashlib.md5(data, usedforsecurity=False).digest()[:4], "little")


# ---------------------------------------------------------------------------
# The systems' hashes (fastring.compat), each written from its system's source
# ---------------------------------------------------------------------------


def kafka_murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2`` (MurmurHash2, seed 0x9747b28c), as unsigned bits."""
    m = 0x5BD1E995
    n = len(data)
    h = (0x9747B28C ^ n) & _M32
    n4 = n & ~3
    for (k,) in struct.iter_unpack("<I", data[:n4]):
        k = (k * m) & _M32
        k ^= k >> 24
        k = (k * m) & _M32
        h = ((h * m) & _M32) ^ k
    tail = data[n4:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h = ((h ^ tail[0]) * m) & _M32
    h ^= h >> 13
    h = (h * m) & _M32
    return h ^ (h >> 15)


def _crc16_xmodem(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def redis_slot(data: bytes) -> int:
    """Redis Cluster's ``keyHashSlot``: CRC16-XMODEM & 0x3FFF of the key or its hash tag."""
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            data = data[start + 1 : end]
    return _crc16_xmodem(data) & 0x3FFF


def cassandra_token(data: bytes) -> int:
    """Murmur3Partitioner's token as uint64 bits (see the .pxd for the rules)."""
    if not data:
        return 1 << 63
    h = _murmur3_x64_h1(data, 0, _signed_bytes)
    return (1 << 63) - 1 if h == 1 << 63 else h


def spark_murmur3(data: bytes, seed: int) -> int:
    """Spark's ``Murmur3_x86_32.hashUnsafeBytes``: tail bytes sign-extended, each mixed
    as a whole block."""
    h = seed & _M32
    n4 = len(data) & ~3
    for (k,) in struct.iter_unpack("<I", data[:n4]):
        h = _mm3_32_block(h, k)
    for b in data[n4:]:
        h = _mm3_32_block(h, (b - 256 if b >= 128 else b) & _M32)
    return _fmix32(h ^ (len(data) & _M32))


def murmur3_utf16(data: bytes, seed: int) -> int:
    """MurmurHash3_x86_32 of the UTF-16LE code units of the UTF-8 text ``data``
    (ill-formed UTF-8 decodes with U+FFFD replacements)."""
    return murmur3_32(data.decode("utf-8", "replace").encode("utf-16-le", "surrogatepass"), seed)


def _sip_round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & _M64
    v1 = ((v1 << 13) | (v1 >> 51)) & _M64
    v1 ^= v0
    v0 = ((v0 << 32) | (v0 >> 32)) & _M64
    v2 = (v2 + v3) & _M64
    v3 = ((v3 << 16) | (v3 >> 48)) & _M64
    v3 ^= v2
    v0 = (v0 + v3) & _M64
    v3 = ((v3 << 21) | (v3 >> 43)) & _M64
    v3 ^= v0
    v2 = (v2 + v1) & _M64
    v1 = ((v1 << 17) | (v1 >> 47)) & _M64
    v1 ^= v2
    v2 = ((v2 << 32) | (v2 >> 32)) & _M64
    return v0, v1, v2, v3


def siphash24(data: bytes, key: bytes) -> int:
    """SipHash-2-4 (Aumasson & Bernstein) of ``data`` with a 16-byte ``key``."""
    k0: int
    k1: int
    k0, k1 = struct.unpack("<QQ", key)
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573
    n8 = len(data) & ~7
    words = [m for (m,) in struct.iter_unpack("<Q", data[:n8])]
    words.append(((len(data) & 0xFF) << 56) | int.from_bytes(data[n8:], "little"))
    for m in words:
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
        v0 ^= m
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def one_at_a_time(data: bytes) -> int:
    """libhashkit's Jenkins one-at-a-time, each byte read as a signed char."""
    h = 0
    for b in data:
        h = (h + (b | 0xFFFFFF00 if b >= 128 else b)) & _M32
        h = (h + (h << 10)) & _M32
        h ^= h >> 6
    h = (h + (h << 3)) & _M32
    h ^= h >> 11
    return (h + (h << 15)) & _M32


#: pandas' default ``hash_key``.
PANDAS_HASH_KEY = b"0123456789123456"


def pandas_siphash(data: bytes) -> int:
    """``pandas.util.hash_array`` of one string's bytes: SipHash-2-4 with pandas'
    default key, then pandas' finalizer (SplitMix64's)."""
    return mix64(siphash24(data, PANDAS_HASH_KEY))


# ---------------------------------------------------------------------------
# Dispatch and SplitMix64
# ---------------------------------------------------------------------------

#: The systems' hashes of text: an int among object keys is an error for them
#: (``algo_takes_text`` of the .pxd).
TEXT_ONLY = frozenset(range(KAFKA_MURMUR2, PANDAS_SIPHASH + 1))

#: Algorithm id -> the hash of (bytes, seed).
_SCALAR: dict[int, Callable[[bytes, int], int]] = {
    XXH64: xxh64,
    XXH3_64: xxh3_64,
    MURMUR3_32: murmur3_32,
    MURMUR3_64: murmur3_64,
    FNV1A_64: lambda data, seed: fnv1a_64(data),
    MD5_32: lambda data, seed: md5_32(data),
    KAFKA_MURMUR2: lambda data, seed: kafka_murmur2(data),
    REDIS_SLOT: lambda data, seed: redis_slot(data),
    CASSANDRA_TOKEN: lambda data, seed: cassandra_token(data),
    SPARK_MURMUR3: spark_murmur3,
    MURMUR3_UTF16: murmur3_utf16,
    PANDAS_SIPHASH: lambda data, seed: pandas_siphash(data),
    ONE_AT_A_TIME: lambda data, seed: one_at_a_time(data),
    CRC32: lambda data, seed: zlib.crc32(data),
}


def hash_scalar(data: bytes, algo: int, seed: int) -> int:
    """The hash of ``data`` with algorithm id ``algo`` (``hash_bytes`` of the .pxd)."""
    return _SCALAR[algo](data, seed)


#: SplitMix64's increment ("golden gamma") and finalizer multipliers.
SPLITMIX_GAMMA = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_U_MIX1 = np.uint64(_MIX1)
_U_MIX2 = np.uint64(_MIX2)


def mix64(z: int) -> int:
    """SplitMix64's finalizer on a Python int (taken modulo 2**64)."""
    z &= _M64
    z = ((z ^ (z >> 30)) * _MIX1) & _M64
    z = ((z ^ (z >> 27)) * _MIX2) & _M64
    return z ^ (z >> 31)


def mix64_array(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finalizer on a uint64 array, in place; returns it."""
    z ^= z >> np.uint64(30)
    z *= _U_MIX1
    z ^= z >> np.uint64(27)
    z *= _U_MIX2
    z ^= z >> np.uint64(31)
    return z
