"""Honest metrics: the requests openvino_py rejects, read from the real server's /metrics."""

from __future__ import annotations

import urllib.request
from collections import Counter

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from ovtriton.backend.rejections import METRIC, REASONS
from ovtriton.server.process import TritonServer
from tests.integration.clients import Client


def scrape(server: TritonServer) -> dict[str, Counter]:
    """Each metric family's samples summed by (model, version, reason) (a counter's one
    sample per series: the parser names it ``<family>_total``, the family keeps the name)."""
    with urllib.request.urlopen(server.metrics_url, timeout=10) as answer:
        text = answer.read().decode()
    values: dict[str, Counter] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            key = (labels.get("model", ""), labels.get("version", ""), labels.get("reason", ""))
            values.setdefault(family.name, Counter())[key] += sample.value
    return values


def rejected(values: dict[str, Counter], model: str) -> dict[str, float]:
    counts = values.get(METRIC, Counter())
    return {reason: counts[(model, "1", reason)] for reason in REASONS}


def delta(before: dict[str, Counter], after: dict[str, Counter], model: str) -> dict[str, float]:
    old = rejected(before, model)
    return {reason: count - old[reason] for reason, count in rejected(after, model).items()}


def test_rejected_requests_are_counted_by_reason(server: TritonServer) -> None:
    client = Client(server, "grpc", timeout=30)
    before = scrape(server)
    for model in ("loose", "scale"):  # every reason exported (at 0) from the model's load on
        assert all((model, "1", r) in before.get(METRIC, {}) for r in REASONS), before.get(METRIC)

    good = np.ones((1, 4), np.float32)
    client.infer("loose", {"INPUT/x:0": good})
    client.error("loose", {"INPUT/x:0": np.ones((1, 5), np.float32)})  # wrong width
    client.error("loose", {"INPUT/x:0": np.ones((1, 3), np.float32)})
    client.error("scale", {"INPUT/x:0": np.full((1, 4), np.nan, np.float32)})  # NaN refused
    after = scrape(server)

    assert delta(before, after, "loose") == {r: (2 if r == "invalid_input" else 0) for r in REASONS}
    assert delta(before, after, "scale") == {r: (1 if r == "non_finite" else 0) for r in REASONS}

    # What the counter corrects: Triton 2.51 counts the three rejected requests as successes.
    success = after["nv_inference_request_success"][("loose", "1", "")]
    success -= before["nv_inference_request_success"][("loose", "1", "")]
    assert success == 3
    failure = after["nv_inference_request_failure"]
    assert sum(v for (m, _, _), v in failure.items() if m == "loose") == sum(
        v for (m, _, _), v in before["nv_inference_request_failure"].items() if m == "loose"
    )
