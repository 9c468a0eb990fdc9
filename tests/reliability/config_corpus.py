"""Generated malformed OVMS configs, each with the JSON path its rejection must name.

``build_models`` writes small IR models (and the symlink trees) into one folder; every case is
a config file placed in that folder, so relative base paths such as ``"add"`` resolve. The
cases are produced from one valid config (``BASE``) by mutation, plus raw texts that are not
JSON/YAML at all. ``corpus()`` returns all of them; ``test_bad_configs.py`` runs each.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from tests.unit.converter.invalid_cases import BASE, _models, _src
from tests.unit.converter.seed_models import elementwise, save

MAX_BYTES = 16 << 20  # the converter's documented limit (ovtriton.converter.schema)
M, P = "model_config_list", "pipeline_config_list[0]"
N0, N1 = f"{P}.nodes[0]", f"{P}.nodes[1]"


src = _src  # the same valid pipeline the converter's unit tests mutate


SYMLINKED = ("link_version", "link_file", "link_bin", "link_subdir")  # base paths, see below


@dataclass(frozen=True)
class Case:
    """One config file (its bytes and suffix) and the JSON path its rejection must name."""

    id: str
    data: bytes
    path: str = "(file)"
    suffix: str = ".json"


def build_models(root: Path) -> None:
    """The models ``BASE`` uses, plus model folders whose symlinks lead out of them."""
    _models(root)
    outside = root.parent / "outside"
    save(elementwise(["x"], "y", [1, 4]), outside / "1" / "model.xml")
    (root / "link_version").mkdir()
    os.symlink(outside / "1", root / "link_version" / "1")  # the whole version folder
    for name in ("link_file", "link_bin", "link_subdir"):
        (root / name / "1").mkdir(parents=True)
    os.symlink(outside / "1" / "model.xml", root / "link_file" / "1" / "model.xml")
    os.symlink(outside / "1" / "model.bin", root / "link_file" / "1" / "model.bin")
    (root / "link_bin" / "1" / "model.xml").write_bytes((outside / "1" / "model.xml").read_bytes())
    os.symlink(outside / "1" / "model.bin", root / "link_bin" / "1" / "model.bin")
    (root / "link_subdir" / "1" / "model.xml").write_bytes((root / "add/1/model.xml").read_bytes())
    (root / "link_subdir" / "1" / "model.bin").write_bytes((root / "add/1/model.bin").read_bytes())
    os.symlink(outside, root / "link_subdir" / "1" / "assets")  # a folder out of the base path


def _doc(mutate: Callable[[dict], Any]) -> bytes:
    doc = copy.deepcopy(BASE)
    mutate(doc)
    return json.dumps(doc).encode()


def _model(doc: dict, index: int = 0) -> dict:
    return doc[M][index]["config"]


def _node(doc: dict, index: int) -> dict:
    return doc["pipeline_config_list"][0]["nodes"][index]


def _pipe(doc: dict) -> dict:
    return doc["pipeline_config_list"][0]


WRONG = {  # JSON values of every type, for fields that must hold another one
    "int": 7,
    "neg": -1,
    "float": 1.5,
    "bool": True,
    "null": None,
    "list": [1],
    "obj": {"k": "v"},
    "str": "x",
    "empty": "",
}
MODEL_FIELD_BAD = {  # field -> the WRONG kinds it must reject
    "name": ("int", "bool", "null", "list", "obj", "empty"),
    "base_path": ("int", "bool", "null", "list", "obj", "empty"),
    "batch_size": ("float", "bool", "null", "list", "obj", "str", "empty"),
    "shape": ("int", "bool", "null", "list", "str", "empty"),
    "layout": ("int", "bool", "null", "list", "str"),
    "model_version_policy": ("int", "bool", "list", "str", "obj"),
    "nireq": ("neg", "float", "bool", "null", "list", "obj", "str"),
    "target_device": ("int", "bool", "null", "list", "obj"),
    "plugin_config": ("int", "bool", "list", "str"),
    "allow_cache": ("int", "null", "list", "obj", "str"),
    "stateful": ("int", "null", "list", "str"),
}
NODE_FIELD_BAD = {
    "name": ("int", "null", "list", "obj", "empty"),
    "model_name": ("int", "null", "list", "obj", "empty"),
    "type": ("int", "null", "str", "empty"),
    "version": ("neg", "float", "bool", "str", "list"),
    "inputs": ("int", "null", "str", "obj"),
    "outputs": ("int", "null", "str", "obj"),
}
PIPELINE_FIELD_BAD = {
    "name": ("int", "null", "list", "obj", "empty"),
    "inputs": ("int", "null", "str", "obj"),
    "nodes": ("int", "null", "str", "obj"),
    "outputs": ("int", "null", "str", "obj"),
}
UNSAFE_NAMES = (
    "..",
    "../escape",
    "../../etc/passwd",
    "a/b",
    "/abs",
    "a\\b",
    ".hidden",
    "-dash",
    "a..b",
    "a b",
    "a\x00b",
    "a\nb",
    "tab\there",
    "n\u00e4me",
    "\u540d\u524d",
    "a:b",
    "a*b",
    "a?b",
    "~",
    "$HOME",
    "%2e%2e",
    "x" * 300,
    "_ovtriton_identity_fp32_1d",
    " ",
    "a\ud800",
)
BAD_BASE_PATHS = (
    "../add",
    "add/../add",
    "./../add",
    "add/..",
    "..",
    "add/1/../../add",
    # s3://, gs://, az:// are served (ovtriton/storage: mirrored; their errors are tested against
    # local storage servers in tests/storage, never by reaching out to a cloud from here)
    "https://example.com/add",
    "missing",
    "add/1/model.bin",
)


def schema_cases() -> Iterator[Case]:
    for field, kinds in MODEL_FIELD_BAD.items():
        for kind in kinds:
            data = _doc(lambda d, f=field, k=kind: _model(d).update({f: WRONG[k]}))
            yield Case(f"model-{field}-{kind}", data, f"{M}[0].config.{field}")
    for field, kinds in NODE_FIELD_BAD.items():
        for kind in kinds:
            data = _doc(lambda d, f=field, k=kind: _node(d, 1).update({f: WRONG[k]}))
            yield Case(f"node-{field}-{kind}", data, f"{N1}.{field}")
    for field, kinds in PIPELINE_FIELD_BAD.items():
        for kind in kinds:
            data = _doc(lambda d, f=field, k=kind: _pipe(d).update({f: WRONG[k]}))
            yield Case(f"pipeline-{field}-{kind}", data, f"{P}.{field}")
    for kind in ("int", "null", "str", "obj"):
        yield Case(f"top-models-{kind}", _doc(lambda d, k=kind: d.update({M: WRONG[k]})), M)
        yield Case(
            f"top-pipelines-{kind}",
            _doc(lambda d, k=kind: d.update(pipeline_config_list=WRONG[k])),
            "pipeline_config_list",
        )
        yield Case(f"model-entry-{kind}", _doc(lambda d, k=kind: d[M].append(WRONG[k])), f"{M}[3]")
    for key in ("models", "model_config", "monitoring_x", "custom_node_library_config_list"):
        yield Case(f"top-key-{key}", _doc(lambda d, k=key: d.update({k: [{"x": 1}]})), key)
    for key in ("base_pth", "precision", "mean", "version", "graph_path", "max_sequence_number"):
        yield Case(
            f"model-key-{key}",
            _doc(lambda d, k=key: _model(d).update({k: "1"})),
            f"{M}[0].config.{key}",
        )
    for key in ("demultiply_count", "gather_from_node", "library_name", "modelname"):
        yield Case(
            f"node-key-{key}", _doc(lambda d, k=key: _node(d, 0).update({k: "a"})), f"{N0}.{key}"
        )
    yield Case("no-config-wrapper", _doc(lambda d: d[M].append({"name": "x"})), f"{M}[3]")
    yield Case(
        "two-key-input",
        _doc(lambda d: _node(d, 0)["inputs"][0].update(y=src("request", "in"))),
        f"{N0}.inputs[0]",
    )
    yield Case(
        "output-no-alias",
        _doc(lambda d: _node(d, 0)["outputs"][0].pop("alias")),
        f"{N0}.outputs[0]",
    )
    for value in ("1,3,224", "(1,3;4)", "(a,b)", "((1))", "(1:)", "(0:-3)"):
        yield Case(
            f"shape-{value}",
            _doc(lambda d, v=value: _model(d).update(shape=v)),
            f"{M}[0].config.shape",
        )
    for value in ("big", "8:1", "1:2:3", "-2", "1.5"):
        yield Case(
            f"batch-{value}",
            _doc(lambda d, v=value: _model(d).update(batch_size=v)),
            f"{M}[0].config.batch_size",
        )
    for value in ("NXHW", "NCHW:NC", "NN", ":"):
        yield Case(
            f"layout-{value}",
            _doc(lambda d, v=value: _model(d).update(layout=v)),
            f"{M}[0].config.layout",
        )
    for policy in (
        {"latest": {"num_versions": 0}},
        {"latest": {"num_versions": 2**64}},
        {"specific": {"versions": []}},
        {"specific": {"versions": [0]}},
        {"specific": {"versions": [9]}},
        {"all": {}, "latest": {}},
        {"newest": {}},
    ):
        yield Case(
            f"policy-{json.dumps(policy)}",
            _doc(lambda d, p=policy: _model(d).update(model_version_policy=p)),
            f"{M}[0].config.model_version_policy",
        )
