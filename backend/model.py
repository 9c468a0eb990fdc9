"""Triton's entry point for the ``openvino_py`` backend: a thin ``TritonPythonModel``.

Triton imports this file as the top-level module ``model`` from ``<backend-dir>/openvino_py/``;
the logic lives in the sibling modules, loaded here as one package.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

import triton_python_backend_utils as pb_utils

_PACKAGE = "ovtriton_openvino_py"


def _load_package() -> str:
    """The package of the sibling modules: ours when installed, else ``ovtriton_openvino_py``
    loaded from this folder (so the modules' relative imports work inside Triton)."""
    if __package__:
        return __package__
    if _PACKAGE not in sys.modules:
        here = Path(__file__).resolve().parent
        spec = importlib.util.spec_from_file_location(
            _PACKAGE, here / "__init__.py", submodule_search_locations=[str(here)]
        )
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the openvino_py backend's modules from {here}")
        package = importlib.util.module_from_spec(spec)
        sys.modules[_PACKAGE] = package
        spec.loader.exec_module(package)
    return _PACKAGE


_package = _load_package()
_errors = importlib.import_module(f"{_package}.errors")
_instance = importlib.import_module(f"{_package}.instance")
_pipeline_load = importlib.import_module(f"{_package}.pipeline_load")
_pipeline_metrics = importlib.import_module(f"{_package}.pipeline_metrics")
_stub_exit = importlib.import_module(f"{_package}.stub_exit")
_rejections = importlib.import_module(f"{_package}.rejections")
BackendError, ModelLoadError, RequestError = (
    _errors.BackendError,
    _errors.ModelLoadError,
    _errors.RequestError,
)


class _TritonLogHandler(logging.Handler):
    """Send the backend's ``logging`` records to Triton's log."""

    def emit(self, record: logging.LogRecord) -> None:
        message = self.format(record)
        if record.levelno >= logging.ERROR:
            pb_utils.Logger.log_error(message)
        elif record.levelno >= logging.WARNING:
            pb_utils.Logger.log_warn(message)
        else:
            pb_utils.Logger.log_info(message)


def _install_logging() -> None:
    root = logging.getLogger(_package)
    if not any(isinstance(h, _TritonLogHandler) for h in root.handlers):
        root.addHandler(_TritonLogHandler())
        root.setLevel(logging.INFO)


def _version_dir() -> Path:
    """The version folder Triton loads: it starts the stub as
    ``triton_python_backend_stub <repo>/<model>/<version>/model.py ...`` (Linux only, like the
    stub); the highest version folder when that one does not exist."""
    argv = Path("/proc/self/cmdline").read_bytes().split(b"\0")
    wanted = Path(os.fsdecode(argv[1])).parent
    if wanted.is_dir():
        return wanted
    versions = [p for p in wanted.parent.iterdir() if p.is_dir() and p.name.isdigit()]
    if not versions:
        raise ModelLoadError(f"no version folder in {wanted.parent}")
    return max(versions, key=lambda p: int(p.name))


class TritonPythonModel:
    @staticmethod
    def auto_complete_config(auto_complete_model_config):  # type: ignore[no-untyped-def]
        """Fill the inputs and outputs a config.pbtxt leaves out from the model file, so a
        hand-written config needs only name, backend and batching."""
        config = auto_complete_model_config.as_dict()
        if config.get("input") and config.get("output"):
            return auto_complete_model_config  # written by hand; checked when the model loads
        try:
            inputs, outputs = _instance.completed_tensors(_version_dir(), config)
        except ModelLoadError as exc:
            raise pb_utils.TritonModelException(f"model {config.get('name')!r}: {exc}") from None
        for entry in inputs:
            auto_complete_model_config.add_input(entry)
        for entry in outputs:
            auto_complete_model_config.add_output(entry)
        return auto_complete_model_config

    def initialize(self, args: dict[str, str]) -> None:
        _install_logging()
        self.name = args["model_name"]
        config = json.loads(args["model_config"])
        model_dir, version = Path(args["model_repository"]), args["model_version"]
        try:
            if _pipeline_load.is_pipeline(config):  # one OVMS pipeline, run whole
                timing = _pipeline_metrics.NodeMetrics(pb_utils, self.name).record
                self.engine = _pipeline_load.load_pipeline(model_dir, version, config, timing)
            else:
                self.engine = _instance.load_engine(model_dir, version, config)
        except ModelLoadError as exc:
            raise pb_utils.TritonModelException(f"model {self.name!r}: {exc}") from None
        self.rejections = _rejections.RejectionCounter(pb_utils, self.name, version)

    def execute(self, requests: list) -> list:
        tensors = [{t.name(): t.as_numpy() for t in request.inputs()} for request in requests]
        wanted = [request.requested_output_names() for request in requests]
        responses = []
        for result in self.engine.run(tensors, wanted):
            if isinstance(result, BackendError):
                self.rejections.count(result)
                code = (
                    pb_utils.TritonError.INVALID_ARG
                    if isinstance(result, RequestError)
                    else pb_utils.TritonError.INTERNAL
                )
                error = pb_utils.TritonError(f"model {self.name!r}: {result}", code)
                responses.append(pb_utils.InferenceResponse(error=error))
            else:
                out = [pb_utils.Tensor(name, array) for name, array in result.items()]
                responses.append(pb_utils.InferenceResponse(output_tensors=out))
        hung = getattr(self.engine, "hung", None)
        if hung:  # a worker is stuck in a custom node library: only a new stub frees it
            _stub_exit.replace_stub(self.name, hung)
        return responses

    def finalize(self) -> None:
        close = getattr(self.engine, "close", None)  # a pipeline model's custom node libraries
        if close is not None:
            close()
        self.engine = None
        self.rejections.close()
