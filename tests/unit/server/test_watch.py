"""ConfigWatcher.poll: what it reloads, and that nothing a config or a disk does stops it.

Real configs, real models and real conversions; ``load``/``unload`` record the calls serve
would send to Triton."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ovtriton.commands.conversion import conversion_options
from ovtriton.server.watch import ConfigWatcher
from tests.models import save, scale_model


def config(output: str = "y") -> dict:
    """One model and a pipeline ``pipe`` whose output is named ``output``."""
    return {
        "model_config_list": [{"config": {"name": "scale", "base_path": "models/scale"}}],
        "pipeline_config_list": [
            {
                "name": "pipe",
                "inputs": ["x"],
                "nodes": [
                    {
                        "name": "node",
                        "model_name": "scale",
                        "type": "DL model",
                        "inputs": [{"INPUT/x:0": {"node_name": "request", "data_item": "x"}}],
                        "outputs": [{"data_item": "out.y", "alias": "y"}],
                    }
                ],
                "outputs": [{output: {"node_name": "node", "data_item": "y"}}],
            }
        ],
    }


class Calls:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.during_load = lambda: None  # what happens while Triton loads

    def load(self, name: str) -> None:
        self.seen.append(f"load {name}")
        self.during_load()

    def unload(self, name: str) -> None:
        self.seen.append(f"unload {name}")


@pytest.fixture
def setup(tmp_path: Path) -> tuple[ConfigWatcher, Path, Calls]:
    save(scale_model((1, 4)), tmp_path / "models" / "scale" / "1")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config()))
    watcher = ConfigWatcher(path, tmp_path / "work" / "repository")
    watcher.convert_initial()
    return watcher, path, Calls()


def poll(watcher: ConfigWatcher, calls: Calls) -> bool:
    return watcher.poll(calls.load, calls.unload)


def test_nothing_changed_nothing_reloads(setup) -> None:
    watcher, _, calls = setup
    assert not poll(watcher, calls) and calls.seen == []


def test_a_pipeline_only_change_loads_only_that_pipeline(setup) -> None:
    watcher, path, calls = setup
    path.write_text(json.dumps(config("renamed")))
    assert poll(watcher, calls)
    assert calls.seen == ["load pipe"]


def test_a_missing_config_is_logged_once_and_its_return_is_applied(
    setup, caplog: pytest.LogCaptureFixture
) -> None:
    watcher, path, calls = setup
    path.unlink()
    with caplog.at_level(logging.ERROR):
        assert not poll(watcher, calls) and not poll(watcher, calls)
    assert [r.getMessage() for r in caplog.records] == [
        f"cannot read {path}: No such file or directory; retrying"
    ]
    path.write_text(json.dumps(config("back")))
    assert poll(watcher, calls) and calls.seen == ["load pipe"]


def test_a_truncated_write_is_reported_and_the_completed_write_applied(
    setup, caplog: pytest.LogCaptureFixture
) -> None:
    watcher, path, calls = setup
    whole = json.dumps(config("renamed"))
    path.write_text(whole[: len(whole) // 2])
    with caplog.at_level(logging.ERROR):
        assert not poll(watcher, calls)
        assert not poll(watcher, calls)  # the same broken bytes: not reported again
    assert len(caplog.records) == 1
    assert "the new config is invalid; the previous one keeps serving" in caplog.text
    assert "not valid JSON" in caplog.text
    path.write_text(whole)
    assert poll(watcher, calls) and calls.seen == ["load pipe"]


def test_a_change_made_while_triton_loads_is_applied_at_the_next_poll(setup) -> None:
    watcher, path, calls = setup
    path.write_text(json.dumps(config("first")))
    calls.during_load = lambda: path.write_text(json.dumps(config("second")))
    assert poll(watcher, calls) and calls.seen == ["load pipe"]
    calls.during_load = lambda: None
    assert poll(watcher, calls) and calls.seen == ["load pipe", "load pipe"]
    assert "second" in (watcher.repository / "pipe" / "config.pbtxt").read_text()


def test_the_plan_is_made_from_the_bytes_fingerprinted(setup) -> None:
    """A write landing between the read and the conversion is not mixed in: the bytes read
    are planned and applied, the later write at the next poll."""
    watcher, path, calls = setup
    path.write_text(json.dumps(config("first")))
    read = watcher._read

    def read_then_overwritten() -> tuple[bytes, bytes]:
        result = read()
        path.write_text(json.dumps(config("second")))
        return result

    watcher._read = read_then_overwritten  # type: ignore[method-assign]
    assert poll(watcher, calls) and calls.seen == ["load pipe"]
    assert '"first"' in (watcher.repository / "pipe" / "config.pbtxt").read_text()
    watcher._read = read  # type: ignore[method-assign]
    assert poll(watcher, calls) and calls.seen == ["load pipe", "load pipe"]
    assert '"second"' in (watcher.repository / "pipe" / "config.pbtxt").read_text()
    assert not poll(watcher, calls)


def test_serve_max_input_bytes_reaches_the_converted_models(tmp_path: Path) -> None:
    from ovtriton.cli import build_parser

    save(scale_model((-1, -1)), tmp_path / "models" / "scale" / "1")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config()))
    args = build_parser(["serve"]).parse_args(
        ["serve", "--config", str(path), "--max-input-bytes", "1234"]
    )
    watcher = ConfigWatcher(path, tmp_path / "repository", conversion_options(args))
    watcher.convert_initial()
    written = (watcher.repository / "scale" / "config.pbtxt").read_text()
    assert 'key: "MAX_INPUT_BYTES"' in written and 'string_value: "1234"' in written


def test_a_write_error_keeps_the_old_repository_and_is_retried(
    setup, caplog: pytest.LogCaptureFixture
) -> None:
    watcher, path, calls = setup
    repository = watcher.repository
    blocked = repository.parent.parent / "blocked"
    blocked.write_text("a file where a folder must be")  # mkdir under it: OSError ENOTDIR
    watcher.repository = blocked / "repository"
    path.write_text(json.dumps(config("renamed")))
    with caplog.at_level(logging.ERROR):
        assert not poll(watcher, calls) and not poll(watcher, calls)
    assert calls.seen == [] and len(caplog.records) == 1
    assert "cannot write the new repository" in caplog.text
    assert "the old one keeps serving" in caplog.text
    watcher.repository = repository  # the disk is usable again
    assert poll(watcher, calls) and calls.seen == ["load pipe"]


def test_each_conversion_warning_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    save(scale_model((1, 4)), tmp_path / "models" / "scale" / "1")
    path = tmp_path / "config.json"
    entry = {"name": "scale", "base_path": "models/scale", "shape": "auto"}
    path.write_text(json.dumps({"model_config_list": [{"config": entry}]}))
    with caplog.at_level(logging.WARNING):
        ConfigWatcher(path, tmp_path / "work" / "repository").convert_initial()
    warnings = [r.getMessage() for r in caplog.records if "'auto' is deprecated" in r.getMessage()]
    assert len(warnings) == 1, caplog.text


def test_a_reload_keeps_the_conversion_options(tmp_path: Path) -> None:
    """--watch converts every new config with serve's flags: after a change the repository is
    still the one convert writes with them (here a pipeline model, no thread budget)."""
    from ovtriton.converter import ConversionOptions, convert
    from tests.unit.server.test_serve_equals_convert import tree

    save(scale_model((1, 4)), tmp_path / "models" / "scale" / "1")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config()))
    options = ConversionOptions(cores=0, pipeline_models=frozenset({"pipe"}))
    watcher = ConfigWatcher(path, tmp_path / "work" / "repository", options)
    watcher.convert_initial()
    path.write_text(json.dumps(config("renamed")))
    calls = Calls()
    assert poll(watcher, calls) and calls.seen == ["load pipe"]
    expected = convert(path, tmp_path / "expected", options=options).out_dir
    assert (expected / "pipe" / "1" / "pipeline.json").exists()  # a pipeline model indeed
    assert tree(watcher.repository) == tree(expected)
