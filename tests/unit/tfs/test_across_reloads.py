"""Counters summed across model reloads (a dropped Triton series, a new stub_pid series)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from ovtriton.tfs.across_reloads import AcrossReloads


def exposition(success: float, rejected: dict[str, float]) -> str:
    lines = [
        "# TYPE nv_inference_request_success counter",
        f'nv_inference_request_success{{model="m",version="1"}} {success}',
        "# TYPE ovtriton_requests_rejected counter",
    ]
    for pid, value in rejected.items():
        lines.append(
            f'ovtriton_requests_rejected{{model="m",reason="too_large",stub_pid="{pid}",'
            f'version="1"}} {value}'
        )
    return "\n".join(lines) + "\n"


def values(counters: AcrossReloads) -> dict[str, float]:
    text = counters.exposition().decode()
    return {
        family.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_counts_survive_a_reload() -> None:
    counters = AcrossReloads()
    counters.update(exposition(10, {"100": 3}))
    counters.update(exposition(12, {"100": 4}))
    # A reload: Triton's series restarts, the old stub's series is gone, a new stub counts.
    counters.update(exposition(1, {"200": 0}))
    counters.update(exposition(5, {"200": 2}))
    assert values(counters) == {
        "nv_inference_request_success_across_reloads": 12 + 5,
        "ovtriton_requests_rejected_across_reloads": 4 + 2,
    }
    # During a reload both stubs' series show: summed, as each counted its own requests.
    counters.update(exposition(6, {"200": 3, "300": 1}))
    assert values(counters)["ovtriton_requests_rejected_across_reloads"] == 4 + 3 + 1


def test_unreadable_text_changes_nothing() -> None:
    counters = AcrossReloads()
    counters.update(exposition(2, {}))
    counters.update("not { metrics")
    assert values(counters) == {"nv_inference_request_success_across_reloads": 2}
