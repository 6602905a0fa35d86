"""The numeric contracts each twin states once: algorithm ids, ring modes, the rows of
the round-robin state. The two twins' tables must be equal, and each selector must
offer exactly its twins' public names."""

import importlib

import pytest

from fastring import ALGORITHMS, hash_key
from fastring._implementation import AREAS
from fastring.hashing import resolve_algorithm


@pytest.mark.parametrize(
    "area, table",
    [
        ("hashing", "ALGORITHM_TABLE"),
        ("hashing", "TEXT_ONLY_ALGORITHMS"),
        ("ring", "RING_MODES"),
        ("select", "SWRR_ROW_NAMES"),
    ],
)
def test_twins_state_the_same_table(compiled, area, table):
    c, p = compiled[area]
    assert getattr(c, table) == getattr(p, table)


def test_pure_hash_functions_use_the_table(compiled):
    from fastring import _hashfuncs_py

    c, p = compiled["hashing"]
    assert p.ALGORITHM_TABLE is _hashfuncs_py.ALGORITHM_TABLE
    ids = [algo for _, algo, _, _ in c.ALGORITHM_TABLE]
    assert ids == list(range(len(ids)))  # in id order, no gaps: the kernels index by id


def test_public_algorithms_come_from_the_table(compiled):
    c, _ = compiled["hashing"]
    assert ALGORITHMS == tuple(name for name, _, _, _ in c.ALGORITHM_TABLE if ":" not in name)
    for name, algo, bits, seed_bits in c.ALGORITHM_TABLE:
        got, dtype, _ = resolve_algorithm(name, 0)
        assert (got, dtype.itemsize * 8) == (algo, bits)
        if seed_bits:
            resolve_algorithm(name, 2**seed_bits - 1)
            with pytest.raises(ValueError, match="seed"):
                resolve_algorithm(name, 2**seed_bits)
        else:
            with pytest.raises(ValueError, match="takes no seed"):
                resolve_algorithm(name, 1)
        assert hash_key(b"k", name) < 2**bits


@pytest.mark.parametrize("area", AREAS)
def test_twins_and_selector_offer_the_same_names(compiled, area):
    c, p = compiled[area]
    selector = importlib.import_module(f"fastring._{area}")
    assert sorted(c.__all__) == sorted(p.__all__) == sorted(selector.__all__)
    for name in selector.__all__:
        assert hasattr(c, name) and hasattr(p, name), name


def test_text_only_algorithms_refuse_integers_in_both_twins(compiled):
    import numpy as np

    c, p = compiled["hashing"]
    for name, algo, bits, _ in c.ALGORITHM_TABLE:
        out = np.empty(2, dtype=np.uint64 if bits == 64 else np.uint32)
        for twin in (c, p):
            if algo in c.TEXT_ONLY_ALGORITHMS:
                for bad in (7, True, np.int64(7)):
                    with pytest.raises(TypeError, match="position 1 has type .*hashes text"):
                        twin.hash_objects(["k", bad], algo, 0, out)
            else:
                twin.hash_objects(["k", 7], algo, 0, out)  # ints hash as 8 bytes
