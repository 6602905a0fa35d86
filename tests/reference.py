"""Reference implementations (test dependencies only) for known-answer checks."""

import hashlib

import mmh3
import xxhash


def fnv1a_64(data: bytes) -> int:
    # FNV-1a is a two-line specification; written out here as the reference.
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


REFERENCES = {
    "xxh64": lambda data, seed: xxhash.xxh64_intdigest(data, seed),
    "xxh3_64": lambda data, seed: xxhash.xxh3_64_intdigest(data, seed),
    "murmur3_32": lambda data, seed: mmh3.hash(data, seed, signed=False),
    "murmur3_64": lambda data, seed: int.from_bytes(mmh3.hash_bytes(data, seed)[:8], "little"),
    "fnv1a_64": lambda data, seed: fnv1a_64(data),
    "md5_32": lambda data, seed: int.from_bytes(hashlib.md5(data).digest()[:4], "little"),
}

#: Seeds each algorithm accepts (the edges of its range).
SEEDS = {
    "xxh64": (0, 1, 2**32 - 1, 2**63, 2**64 - 1, 0x9E3779B97F4A7C15),
    "xxh3_64": (0, 1, 2**32 - 1, 2**63, 2**64 - 1, 0x9E3779B97F4A7C15),
    "murmur3_32": (0, 1, 0x9747B28C, 2**32 - 1),
    "murmur3_64": (0, 1, 0x9747B28C, 2**32 - 1),
    "fnv1a_64": (0,),
    "md5_32": (0,),
}


def reference(data: bytes, algorithm: str, seed: int = 0) -> int:
    return REFERENCES[algorithm](data, seed)
