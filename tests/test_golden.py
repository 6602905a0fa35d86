"""Frozen outputs: every algorithm, router, sampler and system function gives, on both
twins, exactly the answers stored in tests/golden/vectors.json. A difference is a
breaking change (CHANGELOG.md, "Version policy"), never a silent one."""

import pytest

from golden import vectors

GOLDEN = vectors.load()
CASES = vectors.cases()


def test_every_case_has_a_stored_answer_and_back():
    assert sorted(CASES) == sorted(GOLDEN)


def test_the_cases_cover_every_algorithm_router_and_system():
    import fastring
    from fastring import compat

    names = " ".join(CASES)
    for algorithm in fastring.ALGORITHMS:
        assert f"hash_keys/{algorithm}" in CASES
    for public in ("HashRing", "Rendezvous", "Maglev", "MementoRouter", "JumpRouter", "jump_hash", "jumpback_hash",
                   "assign_bounded", "WeightedSampler", "SmoothWeightedRoundRobin"):
        assert public in names, public
    for function in compat.__all__:
        if function != "default_routing_num_shards":  # a number, not a per-key output
            assert f"compat/{function}" in CASES, function


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_is_frozen(twin, case):
    assert CASES[case]() == GOLDEN[case], f"{case} changed: a breaking change (see CHANGELOG.md)"
