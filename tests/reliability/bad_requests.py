"""The generated corpus of malformed requests for test_bad_requests.py, and the repository.

Every case is one request (inputs by name -> array) with the words its error must contain:
the problem (``missing``, ``data-type``/``data type``, ``shape``, ``empty``, ``NaN``, ...) and
the tensor it is about. Triton answers some cases itself (names, types, shapes against
config.pbtxt, batch size) and the openvino_py backend the rest (what config.pbtxt leaves open,
empty tensors, MAX_INPUT_BYTES, NaN/inf); both spellings are accepted where either may answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from tests.models import save, scale_model, two_input_model
from tests.repository import add_model, write_config

LIMIT = 4096  # MAX_INPUT_BYTES of 'two' and 'step'


@dataclass(frozen=True)
class Target:
    """A model (or ensemble) the suite sends to, and how to build and check a valid request."""

    model: str
    inputs: Mapping[str, tuple[type, tuple[int, ...]]]  # name -> dtype, valid shape (-1 = 1..4)
    expected: Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]
    batched: bool = False  # max_batch_size > 0: dimension 0 is the batch
    max_batch: int = 0
    limited: bool = False  # has MAX_INPUT_BYTES
    inner_names: tuple[str, ...] = ()  # for an ensemble: names its steps' errors may use

    def valid(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        rows = int(rng.integers(1, 5))
        return {
            name: _array(dtype, tuple(rows if d == -1 else d for d in shape), rng)
            for name, (dtype, shape) in self.inputs.items()
        }


@dataclass(frozen=True)
class Case:
    target: Target
    kind: str
    inputs: Mapping[str, np.ndarray]
    words: tuple[tuple[str, ...], ...]  # every group: at least one of its words in the message

    @property
    def label(self) -> str:
        return f"{self.target.model}/{self.kind}"


def _array(dtype: type, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if dtype is np.bool_:
        return rng.random(shape) > 0.5
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-50, 50, shape).astype(dtype)
    return (rng.random(shape) * 10 - 5).astype(dtype)


TARGETS = (
    Target(
        "two",
        {"a": (np.float32, (-1, 3)), "b": (np.float32, (-1, 3))},
        lambda t: {"sum": t["a"] + t["b"], "prod": t["a"] * t["b"]},
        limited=True,
    ),
    Target(
        "scale",
        {"INPUT/x:0": (np.float32, (-1, 4))},
        lambda t: {"out.y": t["INPUT/x:0"] * 2},
        batched=True,
        max_batch=8,
    ),
    Target("ints", {"i": (np.int64, (-1, 3))}, lambda t: {"o": t["i"] * 2}),
    Target(
        "loose",
        {"INPUT/x:0": (np.float32, (-1, 4))},
        lambda t: {"out.y": t["INPUT/x:0"] * 2},
        batched=True,
        max_batch=4,
    ),
    Target(
        "pipe",
        {"IN": (np.float32, (-1, 4))},
        lambda t: {"OUT": t["IN"] * 4},
        limited=True,
        inner_names=("'x'",),
    ),
)

_OTHER_TYPES = (np.float16, np.float64, np.int8, np.int32, np.int64, np.uint8, np.bool_)
_BAD_NAMES = ("c", "A", "a ", "INPUT/x:1", "x", "../etc/passwd", "ä", "n" * 200, "IN\u200b")


def build_repository(repo: Path) -> Path:
    limit = {"MAX_INPUT_BYTES": str(LIMIT)}
    add_model(repo, "two", two_input_model(), max_batch_size=0, parameters=limit)
    add_model(repo, "scale", scale_model((1, 4)), max_batch_size=8, dynamic_batching=True)
    add_model(repo, "ints", scale_model((-1, 3), np.int64, "i", "o"), max_batch_size=0)
    save(scale_model((1, 4)), repo / "loose" / "1")  # config looser than the model: -1 for 4
    write_config(
        repo / "loose",
        [("INPUT/x:0", "TYPE_FP32", [-1])],
        [("out.y", "TYPE_FP32", [-1])],
        max_batch_size=4,
    )
    add_model(
        repo,
        "step",
        scale_model((-1, 4), input_name="x", output_name="y"),
        max_batch_size=0,
        parameters=limit,
    )
    write_ensemble(repo / "pipe")
    return repo


def write_ensemble(path: Path) -> None:
    """pipe: IN -> step -> mid -> step -> OUT, i.e. OUT = 4 * IN, built with Triton's protobuf."""
    config = mc.ModelConfig(name=path.name, platform="ensemble")
    config.input.add(name="IN", data_type=mc.TYPE_FP32, dims=[-1, 4])
    config.output.add(name="OUT", data_type=mc.TYPE_FP32, dims=[-1, 4])
    for source, target in (("IN", "mid"), ("mid", "OUT")):
        step = config.ensemble_scheduling.step.add(model_name="step", model_version=-1)
        step.input_map["x"] = source
        step.output_map["y"] = target
    (path / "1").mkdir(parents=True)
    (path / "config.pbtxt").write_text(text_format.MessageToString(config) + "max_batch_size: 0\n")


def _q(name: str) -> str:
    return f"'{name}'"


def cases(target: Target, rng: np.random.Generator) -> Iterator[Case]:
    """Every kind of malformed request for ``target``, with random shapes and positions."""
    names = list(target.inputs)

    def about(name):
        return (_q(name),) + target.inner_names

    for name in names:
        good = target.valid(rng)
        yield Case(
            target,
            "missing",
            {k: v for k, v in good.items() if k != name},
            (("missing", "expected"), (_q(name), name)),
        )
        for bad in _BAD_NAMES:
            if bad in target.inputs:
                continue
            good = target.valid(rng)
            yield Case(target, "extra", {**good, bad: good[name]}, ((bad,),))
            renamed = {(bad if k == name else k): v for k, v in target.valid(rng).items()}
            yield Case(target, "misnamed", renamed, ((bad, name),))
        dtype = target.inputs[name][0]
        for other in _OTHER_TYPES:
            if other is dtype:
                continue
            good = target.valid(rng)
            wrong = {**good, name: _array(other, good[name].shape, rng)}
            yield Case(
                target, "dtype", wrong, (("data-type", "data type", "datatype"), about(name))
            )
        for shape in _wrong_shapes(target, good[name].shape, rng):
            good = target.valid(rng)
            # A leading extra dimension of a batching model is read as the batch size, and
            # Triton's answer names the batch and the model rather than the input.
            yield Case(
                target,
                "shape",
                {**good, name: _array(dtype, shape, rng)},
                (("shape", "batch"), about(name) + ("batch-size",)),
            )
        for shape in _empty_shapes(good[name].shape, target.batched):
            good = target.valid(rng)
            yield Case(
                target,
                "empty",
                {**good, name: _array(dtype, shape, rng)},
                (("empty", "shape", "batch", "byte size"), about(name)),
            )
        if np.issubdtype(dtype, np.floating):
            for value, word in ((np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")) * 3:
                good = target.valid(rng)
                array = good[name].copy()
                array[tuple(int(rng.integers(0, s)) for s in array.shape)] = value
                yield Case(target, "non-finite", {**good, name: array}, ((word,), about(name)))
    if target.limited:
        for rows in (LIMIT // 12, 300, 2000):
            good = {n: _array(d, (rows, s[1]), rng) for n, (d, s) in target.inputs.items()}
            yield Case(target, "too-big", good, (("MAX_INPUT_BYTES",),))
    if target.batched:
        for rows in (target.max_batch + 1, 2 * target.max_batch, 100):
            good = {n: _array(d, (rows, s[1]), rng) for n, (d, s) in target.inputs.items()}
            yield Case(target, "batch", good, (("batch",),))


def _wrong_shapes(
    target: Target, shape: Sequence[int], rng: np.random.Generator
) -> list[tuple[int, ...]]:
    rows, width = shape[0], shape[1]
    shapes = [(width,), (rows, width, 1), (1, rows, width), (rows * width,)]
    shapes += [(rows, w) for w in (1, width - 1, width + 1, 2 * width, 64) if w != width]
    return shapes


def _empty_shapes(shape: Sequence[int], batched: bool) -> list[tuple[int, ...]]:
    """Zero in each dimension. Not [0, 0] for a batching model: Triton 2.51's Python backend
    drops a batch-size-0 request without answering (see test_zero_batch_request_is_answered)."""
    rows, width = shape[0], shape[1]
    return [(0, width), (rows, 0)] + ([] if batched else [(0, 0)])
