"""The problem collector: JSON paths, and echoes dropped in one place."""

from __future__ import annotations

import pytest
from ovtriton.converter.errors import MAX_PROBLEMS, ConfigError, Problems, json_path


def test_json_path_quotes_keys_that_are_not_identifiers() -> None:
    assert json_path("pipeline_config_list", 0, "nodes", 2) == "pipeline_config_list[0].nodes[2]"
    assert json_path("inputs", 0, "map/x") == 'inputs[0]["map/x"]'
    assert json_path("a", 'say "hi"\n') == 'a["say \\"hi\\"\\u000a"]'
    assert json_path() == "(top level)"


def test_clean_is_false_at_and_under_a_reported_path_only() -> None:
    problems = Problems()
    problems.add("p.nodes[1]", "bad")
    assert not problems.clean("p.nodes[1]")
    assert not problems.clean("p.nodes")
    assert not problems.clean("p")
    assert problems.clean("p.nodes[1].inputs")  # a problem above does not dirty what is below
    assert problems.clean("p.nodes[10]")
    assert problems.clean("p.node")


def test_unread_values_are_not_readable_but_warnings_leave_paths_clean() -> None:
    problems = Problems()
    problems.unread("p.outputs")
    problems.warn("p.inputs", "declared twice")
    assert not problems.readable("p.outputs") and not problems.clean("p")
    assert problems.readable("p.inputs") and problems.clean("p.inputs")
    assert len(problems) == 0 and not problems


def test_add_drops_a_problem_that_echoes_one_under_an_unless_path() -> None:
    problems = Problems()
    problems.add("model_config_list[0].config.shape", "bad shape")
    problems.add("p.nodes[0].model_name", "no model named 'm'", unless=["model_config_list[0]"])
    problems.add("p.nodes[1].model_name", "no model named 'n'", unless=["model_config_list[1]"])
    assert [p.path for p in problems.items] == [
        "model_config_list[0].config.shape",
        "p.nodes[1].model_name",
    ]


def test_problems_beyond_the_limit_are_counted_not_kept_and_nothing_is_clean() -> None:
    problems = Problems()
    for index in range(MAX_PROBLEMS + 5):
        problems.add(f"a[{index}]", "bad")
    assert len(problems.items) == MAX_PROBLEMS and len(problems) == MAX_PROBLEMS + 5
    assert not problems.clean("b")
    with pytest.raises(ConfigError) as info:
        problems.raise_if_any("config.json")
    text = str(info.value)
    assert text.startswith(f"config.json: {MAX_PROBLEMS + 5} problems, nothing was written:\n")
    assert text.endswith("  ... and 5 more, not shown")


def test_config_error_shows_each_problem_with_its_hint() -> None:
    problems = Problems()
    problems.add("a.b", "is wrong", "fix it")
    with pytest.raises(ConfigError) as info:
        problems.raise_if_any("c.json")
    assert (
        str(info.value)
        == "c.json: 1 problem, nothing was written:\n  a.b: is wrong\n    hint: fix it"
    )
