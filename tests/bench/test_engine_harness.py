"""The engine benchmark harness runs end to end (tiny durations; no timing is asserted)."""

from __future__ import annotations

import pytest
from benchmarks import _load, bench_engine

WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:1/run
  Latency Distribution
     50%  210.00us
     75%  300.00us
     90%    1.20ms
     99%    2.50ms
  4000 requests in 1.00s, 1.00MB read
Requests/sec:   4000.12
"""


def test_wrk_latency_units_are_read_as_milliseconds() -> None:
    assert _load._latency_ms(WRK_OUTPUT, "50") == pytest.approx(0.21)
    assert _load._latency_ms(WRK_OUTPUT, "99") == pytest.approx(2.5)


def test_ratios_compare_every_figure_both_runs_have() -> None:
    now = {"trivial3": {"c8": {"rps": 300}}, "cold_start_ms": 100.0, "targets": {"x": 1}, "new": 1}
    before = {"trivial3": {"c8": {"rps": 200}}, "cold_start_ms": 200.0, "targets": {"x": 2}}
    assert bench_engine.ratios(now, before) == {"trivial3.c8.rps": 1.5, "cold_start_ms": 0.5}


def test_harness_measures_engine_and_floor_with_the_asyncio_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_load.shutil, "which", lambda _name: None)
    figures = bench_engine.collect(seconds=0.2, cold_runs=1, wide_runs=3)
    assert figures["load_generator"].startswith("asyncio fallback")
    for server in ("floor", "trivial3", "wide"):
        for count in (1, 8, 32):
            point = figures[server][f"c{count}"]
            assert point["rps"] > 0 and 0 < point["p50_ms"] <= point["p99_ms"]
        assert figures[server]["rss_idle_mib"] > 0
    assert set(figures["trivial3_vs_floor"]) == {"c1_rps", "c8_rps", "c32_rps"}
    assert figures["cold_start_ms"] > 0 and figures["makespan_ratio"] >= 1.0
