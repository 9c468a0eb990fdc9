"""The one syntax of dimensions, shapes and layouts (OVMS's), shared by backend and converter."""

from __future__ import annotations

import pytest
from ovtriton.backend.dims import (
    check_dims,
    layout_sides,
    parse_dim,
    parse_layout,
    parse_shape,
)
from ovtriton.backend.errors import ModelLoadError
from ovtriton.backend.settings import parse_settings


@pytest.mark.parametrize(
    ("text", "expected"), [("8", 8), (" -1 ", -1), ("2:8", "2:8"), ("0:8", "0:8"), ("04", 4)]
)
def test_parse_dim_reads_integers_any_and_ranges(text: str, expected: object) -> None:
    assert parse_dim(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "dimension '0' is not an integer >= 1, -1 or \"min:max\""),
        ("0:0", "dimension '0:0' is not an integer >= 1, -1 or \"min:max\""),
        ("8:2", "dimension '8:2' is not an integer >= 1, -1 or \"min:max\""),
        ("²", "dimension '²' is not an integer >= 1, -1 or \"min:max\""),
        ("4294967296", "dimension '4294967296' is larger than 2147483647"),
    ],
)
def test_parse_dim_refuses_with_the_rule(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_dim(text)
    assert str(info.value) == message


def test_check_dims_takes_json_numbers_and_range_strings() -> None:
    assert check_dims([1, -1, "2:8"]) == [1, -1, "2:8"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "shape [] must be a non-empty list of dimensions"),
        ([0], 'dimension 0 must be an integer >= 1, -1 or "min:max"'),
        ([True], 'dimension True must be an integer >= 1, -1 or "min:max"'),
        (
            ["8"],
            "dimension '8' must be an integer >= 1, -1 or \"min:max\" (numbers without quotes)",
        ),
        (["0:0"], "dimension '0:0' is not an integer >= 1, -1 or \"min:max\""),
    ],
)
def test_check_dims_refuses_with_the_rule(value: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        check_dims(value)
    assert str(info.value) == message


def test_parse_shape_reads_parentheses_or_brackets_and_auto() -> None:
    assert parse_shape("(1, 3, 224:448, -1)") == (1, 3, "224:448", -1)
    assert parse_shape("[2]") == (2,)
    assert parse_shape("AUTO") is None


def test_parse_layout_upper_cases_and_allows_only_ovms_letters() -> None:
    assert parse_layout("nhwc:nchw") == "NHWC:NCHW"
    assert parse_layout("N?...") == "N?..."
    with pytest.raises(ValueError) as info:
        parse_layout("NXYZ")
    assert str(info.value) == (
        'layout \'NXYZ\' must be like "NCHW" or "NHWC:NCHW" (request:model), using '
        "N C H W D ? and ..."
    )


def test_layout_sides_repeats_a_single_layout_for_the_model_side() -> None:
    assert layout_sides("NHWC:NCHW") == ("NHWC", "NCHW")
    assert layout_sides("NC") == ("NC", "NC")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("RESHAPE", '{"x": ["0:0"]}', "parameter RESHAPE: entry 'x': dimension '0:0' is not"),
        ("LAYOUT", '{"x": "NXYZ"}', "parameter LAYOUT: entry 'x': layout 'NXYZ' must be like"),
    ],
)
def test_backend_parameters_follow_the_same_rules_as_the_converter(
    key: str, value: str, message: str
) -> None:
    with pytest.raises(ModelLoadError) as info:
        parse_settings({key: {"string_value": value}})
    assert str(info.value).startswith(message)


def test_backend_layout_parameter_is_upper_cased_once_parsed() -> None:
    settings = parse_settings({"LAYOUT": {"string_value": '{"x": "nhwc:nchw"}'}})
    assert settings.layout == {"x": "NHWC:NCHW"}
