import pytest

from ovtriton.backend.errors import ModelLoadError
from ovtriton.backend.settings import BackendSettings, parse_settings


def params(**values: str) -> dict:
    return {k: {"string_value": v} for k, v in values.items()}


def test_parse_settings_defaults_to_cpu_when_no_parameters() -> None:
    assert parse_settings({}) == BackendSettings()
    assert parse_settings({}).target_device == "CPU"


def test_parse_settings_reads_every_knob() -> None:
    s = parse_settings(
        params(
            TARGET_DEVICE="AUTO",
            PERFORMANCE_HINT="throughput",
            NUM_STREAMS="2",
            INFERENCE_NUM_THREADS="3",
            NIREQ="4",
            PLUGIN_CONFIG='{"ENABLE_CPU_PINNING": false}',
            CACHE_DIR="cache",
            RESHAPE='{"x": [1, "2:8", -1]}',
            LAYOUT='{"x": "NHWC:NCHW"}',
        )
    )
    assert s.target_device == "AUTO"
    assert s.nireq == 4
    assert s.reshape == {"x": [1, "2:8", -1]}
    assert s.layout == {"x": "NHWC:NCHW"}
    assert s.cache_dir == "cache"
    assert s.compile_properties() == {
        "PERFORMANCE_HINT": "THROUGHPUT",
        "NUM_STREAMS": "2",
        "INFERENCE_NUM_THREADS": 3,
        "ENABLE_CPU_PINNING": False,
    }


def test_plugin_config_wins_over_named_knobs() -> None:
    s = parse_settings(params(NUM_STREAMS="2", PLUGIN_CONFIG='{"NUM_STREAMS": "4"}'))
    assert s.compile_properties()["NUM_STREAMS"] == "4"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("NUM_STREAM", "2", "unknown parameter(s) NUM_STREAM"),
        ("PERFORMANCE_HINT", "FAST", "PERFORMANCE_HINT: 'FAST' is not one of"),
        ("NUM_STREAMS", "two", "NUM_STREAMS: 'two' is not an integer, AUTO or NUMA"),
        ("INFERENCE_NUM_THREADS", "0", "INFERENCE_NUM_THREADS: 0 is below the minimum 1"),
        ("NIREQ", "x", "NIREQ: 'x' is not an integer"),
        ("PLUGIN_CONFIG", "{bad", "PLUGIN_CONFIG: not valid JSON"),
        ("PLUGIN_CONFIG", "[1]", "PLUGIN_CONFIG: expected a JSON object"),
        ("PLUGIN_CONFIG", '{"A": {"B": 1}}', "PLUGIN_CONFIG: entry 'A'"),
        ("RESHAPE", '{"x": [0]}', "RESHAPE: entry 'x': dimension 0 must be"),
        ("RESHAPE", '{"x": ["8:2"]}', "RESHAPE: entry 'x': dimension '8:2'"),
        ("LAYOUT", '{"x": "NC:HW:C"}', "LAYOUT: entry 'x'"),
        ("MAX_INPUT_BYTES", "1MB", "MAX_INPUT_BYTES: '1MB' is not an integer"),
        ("MAX_INPUT_BYTES", "-1", "MAX_INPUT_BYTES: -1 is below the minimum 0"),
        ("ALLOW_NON_FINITE", "maybe", "ALLOW_NON_FINITE: 'maybe' is not true or false"),
    ],
)
def test_parse_settings_names_the_bad_parameter(key: str, value: str, expected: str) -> None:
    with pytest.raises(ModelLoadError) as info:
        parse_settings(params(**{key: value}))
    assert expected in str(info.value)


def test_parse_settings_limits_default_to_no_size_limit_and_finite_floats_only() -> None:
    s = parse_settings({})
    assert (s.max_input_bytes, s.allow_non_finite) == (0, False)
    s = parse_settings(params(MAX_INPUT_BYTES="4096", ALLOW_NON_FINITE="True"))
    assert (s.max_input_bytes, s.allow_non_finite) == (4096, True)
