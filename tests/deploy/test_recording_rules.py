"""deploy/monitoring/ovms-recording-rules.yml: every expression is valid PromQL (parsed by
promql-parser, the Prometheus grammar), and the request counters take the backend's rejections
from success to fail (Triton 2.51 counts them as successes; backend/rejections.py)."""

from __future__ import annotations

from pathlib import Path

import promql_parser
import yaml

from ovtriton.backend.rejections import METRIC

RULES = Path(__file__).resolve().parents[2] / "deploy" / "monitoring" / "ovms-recording-rules.yml"


def rules() -> dict[str, str]:
    group = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    return {rule["record"]: rule["expr"] for rule in group}


def test_every_rule_is_valid_promql() -> None:
    for record, expr in rules().items():
        promql_parser.parse(expr)  # raises on a syntax error
        assert record.startswith("ovms_"), record


def canonical(expr: str) -> str:
    """The expression as the parser prints it back, whitespace collapsed."""
    return " ".join(str(promql_parser.parse(expr)).split())


def test_rejections_move_from_success_to_fail_per_scrape_target() -> None:
    """`(triton - rejected) or triton`: each pod (job, instance labels kept) subtracts its own;
    models without the counter (ensembles) keep Triton's count."""
    found = rules()
    rejected = f"sum without (reason, stub_pid)({METRIC}{{}})"
    success, failure = "nv_inference_request_success{}", "nv_inference_request_failure{}"
    failed = f"sum without (reason)({failure})"
    assert f"({success} - {rejected}) or {success}," in canonical(found["ovms_requests_success"])
    assert f"({failed} + {rejected}) or {failed}," in canonical(found["ovms_requests_fail"])
