"""The backend's knobs: ``parameters`` of config.pbtxt, parsed and checked in one place.

Every key is a ``string_value`` (Triton allows nothing else). Unknown keys are refused, so a
misspelt knob fails the load instead of being silently ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from .dims import Dim, check_dims, parse_layout
from .errors import ModelLoadError

PERFORMANCE_HINTS = ("LATENCY", "THROUGHPUT", "CUMULATIVE_THROUGHPUT")

# Parameter name -> one line of help, shown when an unknown key is met.
KNOWN_PARAMETERS: dict[str, str] = {
    "TARGET_DEVICE": "OpenVINO device, e.g. CPU (default), GPU, AUTO, HETERO:GPU,CPU",
    "PERFORMANCE_HINT": "one of " + ", ".join(PERFORMANCE_HINTS),
    "NUM_STREAMS": "integer, AUTO or NUMA",
    "INFERENCE_NUM_THREADS": "integer >= 1",
    "NIREQ": "in-flight infer requests (OVMS nireq); 0 = what OpenVINO finds optimal",
    "PLUGIN_CONFIG": 'JSON object passed to compile_model, e.g. {"CPU_DENORMALS_OPTIMIZATION": true}',
    "CACHE_DIR": "compiled-model cache directory (relative to the model directory)",
    "RESHAPE": "JSON object input -> shape in the request's layout (applied after LAYOUT, as "
    'OVMS does), e.g. {"image": [1, 3, "224:448", -1]}',
    "LAYOUT": 'JSON object tensor -> "NHWC:NCHW" (request:model) or "NCHW"',
    "MAX_INPUT_BYTES": "largest request (all inputs together) in bytes; 0 = no limit (default)",
    "ALLOW_NON_FINITE": "true = accept NaN/inf in float inputs; false (default) = refuse them",
    "EXECUTION_ENV_PATH": "Triton's own: a packed Python environment for the stub",
    "SCALARS": "JSON list of the tensors that are 0-d in the model and [1] in Triton (written "
    "by the converter; the TFS front answers them as scalars, as OVMS)",
}


@dataclass(frozen=True)
class BackendSettings:
    """What config.pbtxt's ``parameters`` ask of OpenVINO for one model."""

    target_device: str = "CPU"
    performance_hint: str | None = None
    num_streams: str | None = None
    inference_num_threads: int | None = None
    nireq: int = 0
    plugin_config: Mapping[str, Any] = field(default_factory=dict)
    cache_dir: str | None = None
    reshape: Mapping[str, list[Dim]] = field(default_factory=dict)
    layout: Mapping[str, str] = field(default_factory=dict)
    max_input_bytes: int = 0
    allow_non_finite: bool = False

    def compile_properties(self) -> dict[str, Any]:
        """The properties for ``Core.compile_model``; PLUGIN_CONFIG wins over the named knobs."""
        props: dict[str, Any] = {}
        if self.performance_hint:
            props["PERFORMANCE_HINT"] = self.performance_hint
        if self.num_streams:
            props["NUM_STREAMS"] = self.num_streams
        if self.inference_num_threads:
            props["INFERENCE_NUM_THREADS"] = self.inference_num_threads
        props.update(self.plugin_config)
        return props


def parse_settings(parameters: Mapping[str, Any]) -> BackendSettings:
    """Parse the ``parameters`` object of a resolved model config (``{"K": {"string_value": v}}``)."""
    values = {key: _string_value(key, raw) for key, raw in parameters.items()}
    unknown = sorted(set(values) - set(KNOWN_PARAMETERS))
    if unknown:
        known = "\n".join(f"  {k}: {v}" for k, v in KNOWN_PARAMETERS.items())
        raise ModelLoadError(
            f"unknown parameter(s) {', '.join(unknown)} in config.pbtxt; the openvino_py backend "
            f"knows:\n{known}"
        )
    hint = values.get("PERFORMANCE_HINT") or None
    if hint is not None and hint.upper() not in PERFORMANCE_HINTS:
        raise ModelLoadError(
            f"parameter PERFORMANCE_HINT: {hint!r} is not one of {', '.join(PERFORMANCE_HINTS)}"
        )
    streams = values.get("NUM_STREAMS") or None
    if streams is not None and not (streams.isdigit() or streams.upper() in ("AUTO", "NUMA")):
        raise ModelLoadError(f"parameter NUM_STREAMS: {streams!r} is not an integer, AUTO or NUMA")
    return BackendSettings(
        target_device=(values.get("TARGET_DEVICE") or "CPU").strip(),
        performance_hint=hint.upper() if hint else None,
        num_streams=streams.upper() if streams else None,
        inference_num_threads=_int(values, "INFERENCE_NUM_THREADS", minimum=1),
        nireq=_int(values, "NIREQ", minimum=0) or 0,
        plugin_config=_json_object(values, "PLUGIN_CONFIG", _check_plugin_value),
        cache_dir=values.get("CACHE_DIR") or None,
        reshape=_json_object(values, "RESHAPE", check_dims),
        layout=_json_object(values, "LAYOUT", _check_layout),
        max_input_bytes=_int(values, "MAX_INPUT_BYTES", minimum=0) or 0,
        allow_non_finite=_bool(values, "ALLOW_NON_FINITE"),
    )


def _string_value(key: str, raw: Any) -> str:
    if isinstance(raw, Mapping):
        raw = raw.get("string_value", "")
    if not isinstance(raw, str):
        raise ModelLoadError(f"parameter {key}: expected a string_value, got {raw!r}")
    return raw


def _int(values: Mapping[str, str], key: str, minimum: int) -> int | None:
    text = values.get(key, "").strip()
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        raise ModelLoadError(f"parameter {key}: {text!r} is not an integer") from None
    if number < minimum:
        raise ModelLoadError(f"parameter {key}: {number} is below the minimum {minimum}")
    return number


def _bool(values: Mapping[str, str], key: str) -> bool:
    text = values.get(key, "").strip().lower()
    if text in ("", "false", "no", "0"):
        return False
    if text in ("true", "yes", "1"):
        return True
    raise ModelLoadError(f"parameter {key}: {values[key]!r} is not true or false")


def _json_object(values: Mapping[str, str], key: str, check: Any) -> dict[str, Any]:
    text = values.get(key, "").strip()
    if not text:
        return {}
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"parameter {key}: not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ModelLoadError(f"parameter {key}: expected a JSON object, got {text!r}")
    checked = {}
    for name, value in obj.items():
        try:
            checked[name] = check(value)
        except ValueError as exc:  # the check's message says how to fix it
            raise ModelLoadError(f"parameter {key}: entry {name!r}: {exc}") from None
    return checked


def _check_plugin_value(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"value {value!r} must be a string, number or boolean")


def _check_layout(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f'layout {value!r} must be a string like "NCHW" or "NHWC:NCHW"')
    return parse_layout(value)
