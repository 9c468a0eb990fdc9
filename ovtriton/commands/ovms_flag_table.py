"""Every flag of OVMS's command line and what ``ovtriton serve`` does with it: one table.

The parser (:mod:`ovtriton.commands.ovms_flags`) registers each row and acts on it, and
docs/migration.md shows the table :func:`markdown` renders from the same rows (a test keeps the
two equal). Three actions:

- ``mapped``: ovtriton does what OVMS does with it, through its own settings;
- ``warned``: accepted with a one-line warning: ovtriton has no equivalent and the flag changes
  nothing a client sees (threads, log files of OVMS's own, generative endpoints not served);
- ``refused``: serve exits 1 naming why: ignoring it would change answers.

The list is OVMS's current ``src/cli_parser.cpp`` and its generative task options
(``src/graph_export/*_cli_parser.cpp``), in their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["mapped", "warned", "refused"]
Value = Literal["value", "switch", "none"]  # takes a value; a switch (optionally =true); neither


@dataclass(frozen=True)
class OvmsFlag:
    name: str  # as OVMS spells it, without the dashes
    action: Action
    what: str  # mapped: to what; warned: why nothing a client sees changes; refused: why
    value: Value = "value"

    @property
    def option(self) -> str:
        return f"--{self.name}"

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


_THREADS = "the front is asynchronous and Triton sizes its own threads; answers are the same"
_GENERATIVE = "applies to OVMS's generative endpoints (/v3), which ovtriton does not serve"
_CORS = (
    "OVMS answers browsers' CORS requests; the front sends no CORS headers, so cross-origin "
    "browser clients would be refused"
)
_PREPROCESS = (
    "OVMS adds this preprocessing to the model, so ignoring it changes every answer; bake it "
    "into the model (OpenVINO's PrePostProcessor) and serve that"
)
_MODE = "starts another OVMS mode ({}), which ovtriton does not have; use OVMS for it"
_TASK = "a generative task option (with --task), which ovtriton does not serve"

FLAGS: tuple[OvmsFlag, ...] = (
    OvmsFlag("help", "mapped", "serve's -h/--help", "none"),
    OvmsFlag("version", "mapped", "prints ovtriton's version and exits", "none"),
    OvmsFlag("port", "mapped", "gRPC port of the TFS + KServe front (Triton keeps its own; "
             "0: none, as OVMS)"),
    OvmsFlag("grpc_bind_address", "mapped", "--host (one address; same as rest_bind_address)"),
    OvmsFlag("rest_port", "mapped", "REST port of the TFS + KServe front and /metrics (0: "
             "none, as OVMS)"),
    OvmsFlag("rest_bind_address", "mapped", "--host (one address; same as grpc_bind_address)"),
    OvmsFlag("grpc_workers", "warned", _THREADS),
    OvmsFlag("grpc_max_threads", "warned", _THREADS),
    OvmsFlag("grpc_memory_quota", "warned", "the front's gRPC server has no memory quota; "
             "requests are bounded by the 1 GiB message limit and MAX_INPUT_BYTES"),
    OvmsFlag("rest_workers", "warned", _THREADS),
    OvmsFlag("log_level", "mapped", "serve's log level (DEBUG and TRACE also set "
             "tritonserver's --log-verbose=1)"),
    OvmsFlag("log_path", "mapped", "serve's log is also written to this file (Triton's own "
             "log stays in --workdir)"),
    OvmsFlag("verbose_response", "warned", _GENERATIVE, "switch"),
    OvmsFlag("trace_path", "warned", "OVMS's internal trace file; Triton's tracing is "
             "tritonserver's --trace-config (pass it after --)"),
    OvmsFlag("grpc_channel_arguments", "warned", "the front's gRPC server keeps its own "
             "options (1 GiB messages, no port sharing)"),
    OvmsFlag("file_system_poll_wait_seconds", "mapped", "--watch --poll-seconds with "
             "--config_path (0: no watching)"),
    OvmsFlag("custom_node_resources_cleaner_interval_seconds", "warned", "custom nodes' "
             "buffers are freed with each request here; no cleaner runs"),
    OvmsFlag("cache_dir", "warned", "compiled models are cached in each model's cache/ "
             "folder (CACHE_DIR in config.pbtxt); the place changes no answer"),
    OvmsFlag("metrics_enable", "mapped", "always on: Triton's metrics port and /metrics on "
             "--rest_port", "switch"),
    OvmsFlag("metrics_list", "warned", "/metrics shows every family the front and Triton "
             "export; inference answers do not change"),
    OvmsFlag("cpu_extension", "refused", "custom layers are loaded into OpenVINO by OVMS; "
             "without them the model does not load or computes differently"),
    OvmsFlag("allowed_media_domains", "warned", _GENERATIVE),
    OvmsFlag("allowed_local_media_path", "warned", _GENERATIVE),
    OvmsFlag("allow_credentials", "refused", _CORS, "switch"),
    OvmsFlag("allowed_origins", "refused", _CORS),
    OvmsFlag("allowed_methods", "refused", _CORS),
    OvmsFlag("allowed_headers", "refused", _CORS),
    OvmsFlag("api_key_file", "warned", _GENERATIVE),
    OvmsFlag("config_path", "mapped", "--config, watched as OVMS watches it"),
    OvmsFlag("list_models", "refused", _MODE.format("config management"), "switch"),
    OvmsFlag("add_to_config", "refused", _MODE.format("config management"), "switch"),
    OvmsFlag("remove_from_config", "refused", _MODE.format("config management"), "switch"),
    OvmsFlag("pull", "refused", _MODE.format("pull from Hugging Face"), "switch"),
    OvmsFlag("source_model", "refused", _MODE.format("pull from Hugging Face")),
    OvmsFlag("source_loras", "refused", _MODE.format("pull from Hugging Face")),
    OvmsFlag("gguf_filename", "refused", _MODE.format("pull from Hugging Face")),
    OvmsFlag("overwrite_models", "refused", _MODE.format("pull from Hugging Face"), "switch"),
    OvmsFlag("model_repository_path", "refused", _MODE.format("pull / config management")),
    OvmsFlag("weight-format", "refused", _MODE.format("pull with optimum-cli")),
    OvmsFlag("extra_quantization_params", "refused", _MODE.format("pull with optimum-cli")),
    OvmsFlag("model_name", "mapped", "with --model_path: the served model's name"),
    OvmsFlag("model_path", "mapped", "one-model mode: a generated config.json, as OVMS"),
    OvmsFlag("batch_size", "mapped", "with --model_path: the model's batch_size"),
    OvmsFlag("shape", "mapped", "with --model_path: the model's shape"),
    OvmsFlag("layout", "mapped", "with --model_path: the model's layout"),
    OvmsFlag("mean", "refused", _PREPROCESS),
    OvmsFlag("scale", "refused", _PREPROCESS),
    OvmsFlag("color_format", "refused", _PREPROCESS),
    OvmsFlag("precision", "refused", _PREPROCESS),
    OvmsFlag("model_version_policy", "mapped", "with --model_path: the model's version policy"),
    OvmsFlag("nireq", "mapped", "with --model_path: the model's nireq"),
    OvmsFlag("target_device", "mapped", "with --model_path: the model's target_device"),
    OvmsFlag("plugin_config", "mapped", "with --model_path: the model's plugin_config"),
    OvmsFlag("task", "refused", "serves a generative task (LLM, embeddings, …) through "
             "MediaPipe graphs, which ovtriton does not serve"),
    OvmsFlag("configure", "refused", _MODE.format("configure: writes graph.pbtxt"), "switch"),
    *(
        OvmsFlag(name, "refused", _TASK)
        for name in (
            "max_num_seqs", "pipeline_type", "enable_prefix_caching", "max_num_batched_tokens",
            "cache_size", "draft_source_model", "dynamic_split_fuse", "reasoning_parser",
            "tool_parser", "enable_tool_guided_generation", "cache_interval_multiplier",
            "max_prompt_len", "kv_cache_precision", "model_distribution_policy", "num_streams",
            "normalize", "truncate", "pooling", "max_allowed_chunks", "resolution",
            "max_resolution", "default_resolution", "num_images_per_prompt", "guidance_scale",
            "max_num_images_per_prompt", "default_num_inference_steps",
            "max_num_inference_steps", "model_type", "vocoder",
        )
    ),
)  # fmt: skip
BY_NAME = {flag.name: flag for flag in FLAGS}


def markdown() -> str:
    """The table docs/migration.md shows, rendered from :data:`FLAGS`."""
    rows = ["| OVMS flag | ovtriton serve | what |", "| --- | --- | --- |"]
    rows += [f"| `{f.option}` | {f.action} | {f.what} |" for f in FLAGS]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # paste between the ovms-flags markers of docs/migration.md
    print(markdown(), end="")
