"""Thread budgets the converter gives the models of ensembles (``converter/thread_budgets.py``)."""

from __future__ import annotations

import json
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from ovtriton.cli import main
from ovtriton.converter import ConversionOptions, plan
from ovtriton.converter.options import machine_cores
from tests.unit.converter.golden_cases import pipelines


def threads(config_path: Path, **options: object) -> dict[str, str | None]:
    """Model name -> its INFERENCE_NUM_THREADS parameter (None: not set)."""
    result: dict[str, str | None] = {}
    for model in plan(config_path, options=ConversionOptions(**options)).models:  # type: ignore[arg-type]
        if model.kind == "model":
            config = text_format.Parse(model.config_text, model_config_pb2.ModelConfig())
            value = config.parameters.get("INFERENCE_NUM_THREADS")
            result[model.name] = value.string_value if value is not None else None
    return result


def test_models_get_cores_divided_by_the_branches_running_side_by_side(tmp_path: Path) -> None:
    config = pipelines(tmp_path)  # diamond (2 branches) and chain (1), both use "add"
    assert threads(config, cores=0) == {"add": None, "sum": None}  # 0: no budget
    # the library's default is the command line's: this machine's cores
    assert threads(config, schedule="even") == threads(
        config, cores=machine_cores(), schedule="even"
    )
    even = {"schedule": "even"}
    assert threads(config, cores=4, **even) == {"add": "2", "sum": "2"}  # the tightest wins
    assert threads(config, cores=1, **even) == {"add": "1", "sum": "1"}
    # a pipeline model splits its budget itself when it loads: only chain's models here
    assert threads(config, cores=4, pipeline_models=frozenset({"diamond"})) == {
        "add": "4",
        "sum": None,
    }
    assert threads(config, cores=4, pipeline_form="model") == {"add": None, "sum": None}


def test_plugin_config_and_other_devices_keep_their_own_setting(tmp_path: Path) -> None:
    config = pipelines(tmp_path)
    document = json.loads(config.read_text())
    models = {m["config"]["name"]: m["config"] for m in document["model_config_list"]}
    models["add"]["plugin_config"] = {"INFERENCE_NUM_THREADS": 1}
    models["sum"]["target_device"] = "AUTO"
    config.write_text(json.dumps(document))
    assert threads(config, cores=4) == {"add": None, "sum": None}


def test_convert_cli_sets_budgets_for_the_given_cores(tmp_path: Path) -> None:
    config = pipelines(tmp_path / "ovms")
    argv = ["convert", str(config), "-o", str(tmp_path / "repo"), "--cores", "2"]
    assert main([*argv, "--schedule", "even"]) == 0
    text = (tmp_path / "repo" / "add" / "config.pbtxt").read_text()
    assert 'key: "INFERENCE_NUM_THREADS"' in text and 'string_value: "1"' in text
    out = tmp_path / "none"
    assert main(["convert", str(config), "-o", str(out), "--cores", "0"]) == 0
    assert "INFERENCE_NUM_THREADS" not in (out / "add" / "config.pbtxt").read_text()
    assert main(["convert", str(config), "-o", str(out), "--cores", "many"]) == 2
