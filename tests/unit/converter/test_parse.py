"""parse_config: the raw document -> OvmsConfig, naming what is unsupported, with exact messages."""

from __future__ import annotations

from typing import Any

from ovtriton.converter.errors import Problems
from ovtriton.converter.ovms import OvmsConfig, VersionPolicy
from ovtriton.converter.parse import parse_config


def parsed(doc: Any) -> tuple[OvmsConfig, list[str]]:
    problems = Problems()
    config = parse_config(doc, problems)
    return config, [str(p) for p in problems.items]


def test_model_entry_keeps_every_translated_field() -> None:
    config, problems = parsed(
        {
            "model_config_list": [
                {
                    "config": {
                        "name": "m",
                        "base_path": "m",
                        "batch_size": 8,
                        "shape": {"x": "(1,3)"},
                        "layout": "nhwc:nchw",
                        "model_version_policy": {"specific": {"versions": [3, 1]}},
                        "nireq": 2,
                        "target_device": "CPU",
                        "plugin_config": {"NUM_STREAMS": 2},
                        "allow_cache": True,
                    }
                }
            ]
        }
    )
    assert problems == []
    (entry,) = config.models
    assert entry.path == "model_config_list[0].config"
    assert (entry.batch_size, entry.shape, entry.layout) == ("8", {"x": "(1,3)"}, "nhwc:nchw")
    assert entry.version_policy == VersionPolicy("specific", versions=(1, 3))
    assert (entry.nireq, entry.target_device, entry.allow_cache) == (2, "CPU", True)


def test_declared_maps_each_name_to_every_entry_claiming_it() -> None:
    config, _ = parsed(
        {
            "model_config_list": [
                {"config": {"name": "a", "base_path": "a"}},
                {"config": {"name": "a", "base_path": 3}},
            ],
            "pipeline_config_list": [{"name": "a", "inputs": [], "nodes": [], "outputs": []}],
        }
    )
    assert config.declared == {
        "a": ("model_config_list[0]", "model_config_list[1]", "pipeline_config_list[0]")
    }
    assert len(config.models) == 1  # the entry without a readable base_path is left out


def test_unsupported_and_rejected_keys_are_named_with_a_hint() -> None:
    _, problems = parsed(
        {
            "model_config_list": [
                {"config": {"name": "m", "base_path": "m", "mean": 1, "stateful": True}}
            ],
            "custom_loader_config_list": [{}],
        }
    )
    assert problems == [
        "custom_loader_config_list: 'custom_loader_config_list' is not supported by ovtriton "
        "yet\n    hint: custom model loaders are not supported; decrypt or fetch the model files "
        "before converting",
        "custom_loader_config_list[0]: missing required key 'config'",
        "model_config_list[0].config.mean: unknown key 'mean'\n    hint: OVMS's schema rejects "
        "it too (a CLI preprocessing option); bake the preprocessing into the model, e.g. with "
        "OpenVINO's PrePostProcessor",
        "model_config_list[0].config.stateful: 'stateful' is not supported by ovtriton yet\n"
        "    hint: stateful models were removed in OVMS 2026.3; Triton's sequence batcher needs "
        "a hand-written model",
    ]


def test_bad_batch_size_and_shape_say_what_ovms_accepts() -> None:
    _, problems = parsed(
        {
            "model_config_list": [
                {"config": {"name": "m", "base_path": "m", "batch_size": "x", "shape": "(0,3)"}}
            ]
        }
    )
    assert problems == [
        "model_config_list[0].config.batch_size: batch_size 'x' must be an integer, \"-1\", "
        '"min:max" or "auto"',
        "model_config_list[0].config.shape: dimension '0' is not an integer >= 1, -1 or "
        '"min:max"',
    ]


def test_missing_base_path_is_reported_once_and_the_entry_left_out() -> None:
    config, problems = parsed({"model_config_list": [{"config": {"name": "m"}}]})
    assert problems == [
        "model_config_list[0].config: missing required key 'base_path'\n    hint: the folder "
        "holding the numbered version folders, or one model file"
    ]
    assert config.models == ()


def test_monitoring_is_accepted_with_a_warning_only() -> None:
    problems = Problems()
    parse_config({"model_config_list": [], "monitoring": {"metrics": {"enable": True}}}, problems)
    assert not problems
    assert [w.path for w in problems.warnings] == ["monitoring"]


def test_metrics_list_takes_ovms_metric_families_only() -> None:
    problems = Problems()
    metrics = {
        "enable": True,
        "metrics_list": ["ovms_requests_success", "ovms_infer_req_active", "ovms_requests_fial"],
    }
    parse_config({"model_config_list": [], "monitoring": {"metrics": metrics}}, problems)
    (problem,) = problems.items
    assert problem.path == "monitoring.metrics.metrics_list[2]"
    assert problem.message == (
        "'ovms_requests_fial' is not an OVMS metric family (OVMS: Invalid name in "
        "metrics_list, INVALID_METRICS_FAMILY_NAME)"
    )
    assert problem.hint.startswith("use one of ovms_current_requests, ovms_requests_success, ")


def test_metrics_list_naming_a_family_twice_is_refused_as_ovms_does() -> None:
    problems = Problems()
    metrics = {"enable": True, "metrics_list": ["ovms_streams", "ovms_streams"]}
    parse_config({"model_config_list": [], "monitoring": {"metrics": metrics}}, problems)
    assert [(p.path, p.message) for p in problems.items] == [
        (
            "monitoring.metrics.metrics_list[1]",
            "'ovms_streams' is listed twice (OVMS: Invalid name in metrics_list, "
            "INVALID_METRICS_FAMILY_NAME)",
        )
    ]


def test_pipeline_entries_that_cannot_be_read_are_left_out_and_filed_unread() -> None:
    problems = Problems()
    config = parse_config(
        {
            "model_config_list": [],
            "pipeline_config_list": [
                {"name": "p", "inputs": ["in", 4], "nodes": [{"type": "DL model"}], "outputs": []}
            ],
        },
        problems,
    )
    (pipeline,) = config.pipelines
    assert pipeline.inputs == ("in",) and pipeline.nodes == ()
    assert not problems.readable("pipeline_config_list[0].inputs[1]")
    assert not problems.readable("pipeline_config_list[0].nodes[0]")
    assert problems.readable("pipeline_config_list[0].outputs")
