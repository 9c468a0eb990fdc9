"""The seed's classification client, over gRPC or HTTP through ``ovtriton.client``.

One request per iteration with ``batch_size`` images, timed around the ``infer`` call like the
seed's ``grpc_serving_client.py``. The answer is either class ids (an integer output such as
the pipeline's ``label``) or scores (a float output such as a classifier's ``prob``, arg-maxed
over its last axis), so the same loop works for the pipeline and for a single model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np
from tritonclient.utils import InferenceServerException

from ovtriton.client import Client, Connection, Metadata
from ovtriton.errors import UserError
from ovtriton.seed.photos import NO_LABEL, class_name

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
    client: Connection,
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
    for number in range(1, total + 1):
        start = ((number - 1) % batches) * batch_size
        batch = np.ascontiguousarray(images[start : start + batch_size])
        request = client.request({input_name: batch}, [output_name])
        began = time.perf_counter()
        try:
            result = client.send(model, request)
        except InferenceServerException as exc:
            raise UserError(f"{model}: request {number} failed: {exc.message()}") from None
        except OSError as exc:  # HTTP client: connection refused/reset
            raise UserError(
                f"cannot reach the server for {model!r}: {exc}; is it running?"
            ) from None
        elapsed_ms = (time.perf_counter() - began) * 1000.0
        predicted = predictions(result.get(output_name), batch_size)
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


def metadata(client: Client, model: str) -> Metadata:
    """The model's metadata; a missing model or server is a ``UserError``."""
    try:
        return client.metadata(model)
    except InferenceServerException as exc:
        raise UserError(f"no metadata for {model!r}: {exc.message()}") from None
    except OSError as exc:  # HTTP client: connection refused/reset
        raise UserError(f"cannot reach the server for {model!r}: {exc}; is it running?") from None
