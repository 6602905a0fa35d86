"""``fastring simulate``: deterministic, every balancer, the adaptive ones win."""

import importlib.util
import sys

import numpy as np
import pytest

from fastring._cmd_simulate import BALANCERS, Scenario, format_table, simulate
from fastring.cli import main

SMALL = ["--requests", "3000"]


def test_table_lists_every_balancer(twin, capsys):
    assert main(["simulate", *SMALL]) == 0
    out = capsys.readouterr().out
    for name in BALANCERS:
        assert f"\n{name} " in out
    assert "p99 before" in out and "utilization" in out
    assert "p2c beats round-robin" in out
    assert "peak-ewma beats round-robin" in out


def test_deterministic_and_twin_independent(compiled, capsys):
    import fastring._select as selector

    outputs = []
    for module in [*compiled["select"], compiled["select"][0]]:
        saved = {name: getattr(selector, name) for name in selector.__all__}
        for name in selector.__all__:
            setattr(selector, name, getattr(module, name))
        try:
            assert main(["simulate", *SMALL, "--seed", "5"]) == 0
        finally:
            for name, value in saved.items():
                setattr(selector, name, value)
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    assert main(["simulate", *SMALL, "--seed", "6"]) == 0
    assert capsys.readouterr().out != outputs[0]


def test_adaptive_balancers_beat_round_robin_after_the_slowdown():
    scenario = Scenario(requests=8000)
    results = {name: simulate(scenario, name) for name in ("round-robin", "p2c", "peak-ewma", "least-connections")}
    rr = results["round-robin"]
    for name in ("p2c", "peak-ewma", "least-connections"):
        r = results[name]
        assert r.percentile(99, "after") * 5 < rr.percentile(99, "after"), name
        assert r.latency.mean() * 5 < rr.latency.mean(), name
        assert r.throughput > rr.throughput
    # Every request completes, and each server does the work it was given.
    for r in results.values():
        assert len(r.latency) == 8000 and (r.latency > 0).all()
        assert np.isclose(r.share.sum(), 1.0)
        assert (r.utilization <= 1.0 + 1e-9).all()


def test_homogeneous_servers_without_slowdown_are_a_draw():
    # Equal servers, no slowdown, moderate load: round robin is already good; the
    # adaptive balancers are no worse than ~1.3x of it.
    scenario = Scenario(speeds=(1.0, 1.0, 1.0, 1.0), requests=8000, load=0.5, slow_server=None)
    rr = simulate(scenario, "round-robin")
    for name in ("p2c", "peak-ewma"):
        r = simulate(scenario, name)
        assert 1 / 1.3 < rr.percentile(99) / r.percentile(99) < 1.3
    text = format_table(scenario, [rr])
    assert "no slowdown" in text


def test_choose_balancers_and_servers(capsys):
    assert main(["simulate", *SMALL, "-b", "p2c", "-b", "random", "--servers", "1,2", "--slow-server", "-1"]) == 0
    out = capsys.readouterr().out
    assert "\np2c " in out and "\nrandom " in out and "\nround-robin " not in out
    assert "s0=1 s1=2" in out and "no slowdown" in out


@pytest.mark.parametrize(
    "args",
    [
        ["--servers", "a,b"],
        ["--servers", "1,-1"],
        ["--balancer", "nope"],
        ["--requests", "0"],
        ["--load", "0"],
    ],
)
def test_bad_arguments_exit_2(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", *args])
    assert exc.value.code == 2


@pytest.mark.parametrize("args", [["--slow-server", "9"], ["--slow-at", "1.5"]])
def test_bad_values_exit_2(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", *SMALL, *args])
    assert exc.value.code == 2
    assert "fastring simulate: error" in capsys.readouterr().err


def test_plot_without_matplotlib(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(SystemExit) as exit:
        main(["simulate", *SMALL, "--plot", str(tmp_path / "x.png")])
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert "--plot needs matplotlib" in captured.err
    assert captured.out == ""  # fails before simulating


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed")
def test_plot(tmp_path, capsys):
    path = tmp_path / "sim.png"
    assert main(["simulate", *SMALL, "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {path}" in capsys.readouterr().out
