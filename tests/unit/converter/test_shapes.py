"""OVMS shape, layout and batch_size strings, and how they become backend parameters."""

from __future__ import annotations

import pytest
from ovtriton.converter.shapes import (
    Shaping,
    parse_batch_size,
    parse_layout,
    parse_shape,
    plan_shaping,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(1,3,224,224)", (1, 3, 224, 224)),
        ("[1, 3, 224:448, -1]", (1, 3, "224:448", -1)),
        ("auto", None),
    ],
)
def test_parse_shape_reads_ovms_spelling(text: str, expected: object) -> None:
    assert parse_shape(text) == expected


@pytest.mark.parametrize("text", ["1,3", "()", "(0,3)", "(a,3)", "(5:2)"])
def test_parse_shape_raises_when_malformed(text: str) -> None:
    with pytest.raises(ValueError):
        parse_shape(text)


def test_parse_layout_upper_cases_and_checks_letters() -> None:
    assert parse_layout("nhwc:nchw") == "NHWC:NCHW"
    assert parse_layout("N...") == "N..."
    with pytest.raises(ValueError):
        parse_layout("NXHW")


@pytest.mark.parametrize(
    "text, expected", [("8", 8), ("-1", -1), ("1:8", "1:8"), ("auto", -1), ("0", None)]
)
def test_parse_batch_size_reads_ovms_spelling(text: str, expected: object) -> None:
    assert parse_batch_size(text) == expected


def test_plan_shaping_uses_triton_batching_when_range_starts_at_one() -> None:
    assert plan_shaping({"x": [1, 4]}, {}, "1:8", {}) == Shaping(8, {}, {})


def test_plan_shaping_reshapes_batch_dimension_when_fixed() -> None:
    assert plan_shaping({"x": [1, 4]}, {}, 4, {}) == Shaping(0, {"x": [4, 4]}, {})


def test_plan_shaping_reshapes_at_layout_batch_position() -> None:
    shaping = plan_shaping({"x": [3, 1, 4]}, {}, "2:8", {"x": "CNW"})
    assert shaping == Shaping(0, {"x": [3, "2:8", 4]}, {"x": "CNW"})


def test_plan_shaping_prefers_shape_over_batch_size() -> None:
    assert plan_shaping({"x": [1, 4]}, {"x": (2, -1)}, 8, {}) == Shaping(0, {"x": [2, -1]}, {})


def test_plan_shaping_makes_auto_shape_dynamic() -> None:
    assert plan_shaping({"x": [1, 4]}, {"x": None}, None, {}) == Shaping(0, {"x": [-1, -1]}, {})
