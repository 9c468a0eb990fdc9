"""The seed's classification client over tritonclient gRPC or HTTP, and model metadata.

One request per iteration with ``batch_size`` images, timed around the ``infer`` call like the
seed's ``grpc_serving_client.py``. The answer is either class ids (an integer output such as
the pipeline's ``label``) or scores (a float output such as a classifier's ``prob``, arg-maxed
over its last axis), so the same loop works for the pipeline and for a single model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from ovtriton.errors import UserError
from ovtriton.seed.photos import NO_LABEL, class_name

PROTOCOLS = ("grpc", "http")
TRANSPOSES = {"none": None, "nhwc2nchw": (0, 3, 1, 2), "nchw2nhwc": (0, 2, 3, 1)}


@dataclass(frozen=True)
class Answer:
    """One image of a batch: the predicted class and, when labels were given, the accepted ones."""

    position: int
    predicted: int
    accepted: tuple[int, ...] = ()

    @property
    def checked(self) -> bool:
        return bool(self.accepted)

    @property
    def correct(self) -> bool:
        return self.predicted in self.accepted

    def line(self) -> str:
        text = f"\t {self.position} {class_name(self.predicted)} {self.predicted}"
        if not self.checked:
            return text
        if self.correct:
            return text + " ; Correct match."
        expected = self.accepted[0]
        return text + f" ; Incorrect match. Should be {expected} {class_name(expected)}"


@dataclass(frozen=True)
class Iteration:
    number: int  # from 1
    time_ms: float
    batch_size: int
    answers: tuple[Answer, ...]

    def lines(self) -> list[str]:
        speed = 1000.0 * self.batch_size / self.time_ms if self.time_ms > 0 else float("inf")
        return [
            f"Iteration {self.number}; Processing time: {self.time_ms:.2f} ms; speed {speed:.2f} fps",
            "imagenet top results in a single batch:",
            *(a.line() for a in self.answers),
        ]


def connect(url: str, protocol: str) -> Any:
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    module = grpcclient if protocol == "grpc" else httpclient
    return module.InferenceServerClient(url)


def transpose(images: np.ndarray, method: str) -> np.ndarray:
    if method not in TRANSPOSES:
        raise UserError(f"unknown transpose {method!r}; use one of {', '.join(TRANSPOSES)}")
    axes = TRANSPOSES[method]
    if axes is None:
        return images
    if images.ndim != 4:
        raise UserError(
            f"--transpose {method} needs 4-D images [N,H,W,C]/[N,C,H,W], got {images.shape}"
        )
    return np.ascontiguousarray(images.transpose(axes))


def classify(
    client: Any,
    protocol: str,
    model: str,
    images: np.ndarray,
    labels: Optional[np.ndarray] = None,
    input_name: str = "image",
    output_name: str = "label",
    batch_size: int = 1,
    iterations: int = 0,
) -> Iterator[Iteration]:
    """Send ``images`` in batches, cycling through them for ``iterations`` requests (0 = once)."""
    if batch_size < 1 or batch_size > len(images):
        raise UserError(f"batch size {batch_size} must be between 1 and the {len(images)} images")
    if labels is not None and len(labels) < len(images):
        raise UserError(
            f"{len(labels)} labels for {len(images)} images: give one label row per image"
        )
    batches = len(images) // batch_size
    total = iterations if iterations > 0 else batches
    module = grpcclient if protocol == "grpc" else httpclient
    wire_type = np_to_triton_dtype(images.dtype)
    for number in range(1, total + 1):
        start = ((number - 1) % batches) * batch_size
        batch = np.ascontiguousarray(images[start : start + batch_size])
        tensor = module.InferInput(input_name, list(batch.shape), wire_type)
        tensor.set_data_from_numpy(batch)
        requested = [module.InferRequestedOutput(output_name)]
        began = time.perf_counter()
        try:
            result = client.infer(model, [tensor], outputs=requested)
        except InferenceServerException as exc:
            raise UserError(f"{model}: request {number} failed: {exc.message()}") from None
        except OSError as exc:  # HTTP client: connection refused/reset
            raise UserError(
                f"cannot reach the server for {model!r}: {exc}; is it running?"
            ) from None
        elapsed_ms = (time.perf_counter() - began) * 1000.0
        predicted = predictions(result.as_numpy(output_name), batch_size)
        answers = tuple(
            Answer(i, int(p), accepted_labels(labels, start + i)) for i, p in enumerate(predicted)
        )
        yield Iteration(number, elapsed_ms, batch_size, answers)


def predictions(output: Optional[np.ndarray], batch_size: int) -> np.ndarray:
    """Class ids per image from class ids (integer output) or scores (float output)."""
    if output is None:
        raise UserError("the response has no such output; check --output-name")
    if np.issubdtype(output.dtype, np.integer):
        ids = output.reshape(-1)
    else:
        ids = output.reshape(batch_size, -1).argmax(axis=1)
    if len(ids) != batch_size:
        raise UserError(f"expected {batch_size} answer(s) in output of shape {output.shape}")
    return ids


def accepted_labels(labels: Optional[np.ndarray], index: int) -> tuple[int, ...]:
    if labels is None:
        return ()
    row = np.atleast_1d(labels[index]).reshape(-1)
    return tuple(int(v) for v in row if v != NO_LABEL)


@dataclass(frozen=True)
class TensorMetadata:
    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Metadata:
    name: str
    versions: tuple[str, ...]
    platform: str
    inputs: tuple[TensorMetadata, ...]
    outputs: tuple[TensorMetadata, ...]

    def lines(self) -> list[str]:
        return [
            f"Getting model metadata for model: {self.name}",
            "Inputs metadata:",
            *(
                f"\tInput name: {t.name}; shape: {list(t.shape)}; dtype: {t.datatype}"
                for t in self.inputs
            ),
            "Outputs metadata:",
            *(
                f"\tOutput name: {t.name}; shape: {list(t.shape)}; dtype: {t.datatype}"
                for t in self.outputs
            ),
        ]


def metadata(client: Any, protocol: str, model: str) -> Metadata:
    try:
        raw = (
            client.get_model_metadata(model, as_json=True)
            if protocol == "grpc"
            else (client.get_model_metadata(model))
        )
    except InferenceServerException as exc:
        raise UserError(f"no metadata for {model!r}: {exc.message()}") from None
    except OSError as exc:  # HTTP client: connection refused/reset
        raise UserError(f"cannot reach the server for {model!r}: {exc}; is it running?") from None
    return Metadata(
        name=raw["name"],
        versions=tuple(raw.get("versions", ())),
        platform=raw.get("platform", ""),
        inputs=_tensors(raw.get("inputs", ())),
        outputs=_tensors(raw.get("outputs", ())),
    )


def _tensors(items: Sequence[dict]) -> tuple[TensorMetadata, ...]:
    # gRPC's JSON spells int64 dims as strings.
    return tuple(
        TensorMetadata(t["name"], t["datatype"], tuple(int(d) for d in t.get("shape", ())))
        for t in items
    )
