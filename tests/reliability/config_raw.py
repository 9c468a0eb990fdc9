"""Raw texts that are not a valid OVMS document: truncated, bad syntax, wrong shape, non-UTF-8,
huge, nested too deeply, YAML with Python tags or non-string keys."""

from __future__ import annotations

import json
from collections.abc import Iterator

import yaml

from tests.reliability.config_corpus import BASE, MAX_BYTES, Case, M


def raw_cases() -> Iterator[Case]:
    """Texts that are not a valid document, and documents of the wrong shape."""
    text = json.dumps(BASE, indent=1)
    step = len(text) // 30
    for i in range(1, 30):  # truncated anywhere
        yield Case(f"truncated-{i}", text[: i * step].encode())
    for i, raw in enumerate(
        (
            "",
            " ",
            "{",
            "}",
            "[",
            "nul",
            "{'model_config_list': []}",
            '{"model_config_list": [],}',
            '{"model_config_list": [] /* c */}',
            '{"a": 1} {"b": 2}',
            "\ufeff",
            '"\\ud800"x',
            '{"model_config_list": [], "model_config_list": []}',
            "0x10",
            '{"a": 01}',
        )
    ):
        yield Case(f"syntax-{i}", raw.encode())
    for i, doc in enumerate(
        (
            "[]",
            "{}",
            "null",
            "1",
            '"text"',
            "true",
            '{"model_config_list": 1}',
            '{"model_config_list": [], "x": NaN}',
        )
    ):
        path = (
            "(top level)",
            "(top level)",
            "(top level)",
            "(top level)",
            "(top level)",
            "(top level)",
            M,
            "x",
        )[i]
        yield Case(f"shape-of-document-{i}", doc.encode(), path)
    latin = json.dumps(BASE).replace('"pipe"', '"p\u00eepe"').encode("latin-1")
    yield Case("latin-1", latin)
    yield Case("utf-16", json.dumps(BASE).encode("utf-16"))
    yield Case("random-bytes", bytes(range(256)) * 4)
    yield Case("nul-bytes", b"\x00" * 64)
    yield Case("too-deep-json", b"[" * 100_000 + b"]" * 100_000)
    yield Case("too-deep-yaml", b"[" * 100_000 + b"]" * 100_000, suffix=".yaml")
    yield Case("huge", b'{"model_config_list": []}' + b" " * MAX_BYTES)
    yield Case("huge-yaml", b"model_config_list: []\n" + b"#" * MAX_BYTES, suffix=".yaml")
    for i, raw in enumerate(
        (
            "model_config_list: [",
            "model_config_list:\n\t- x",
            "a: b: c",
            "- [",
            "key: 'open",
            "model_config_list: []\nmodel_config_list: []",
            "? [a, b]\n: c",
            "model_config_list: !!python/object/apply:os.system ['touch PWNED']",
            "model_config_list: !!python/object:os.system {}",
            "model_config_list: !!python/name:os.system",
            "!!python/object/new:subprocess.Popen [['touch', 'PWNED']]",
            "model_config_list: !custom_tag 1",
        )
    ):
        yield Case(f"yaml-{i}", raw.encode(), suffix=".yaml")
    for i, (raw, path) in enumerate(
        (
            ("model_config_list: []\n1: x", "(top level)"),
            ("&a [*a]", "(top level)"),
            ("model_config_list: []\nnull: x", "(top level)"),
            ("model_config_list: [[a]]", f"{M}[0]"),
            ("model_config_list: &a [*a]", f"{M}[0]"),
            (
                "model_config_list:\n- config: {name: 2024-01-01, base_path: add}",
                f"{M}[0].config.name",
            ),
            (
                "model_config_list:\n- config: {name: a, base_path: add, nireq: .inf}",
                f"{M}[0].config.nireq",
            ),
        )
    ):
        yield Case(f"yaml-shape-{i}", raw.encode(), path, suffix=".yaml")
    yield Case(
        "yaml-latin-1",
        yaml.safe_dump(BASE).replace("pipe", "p\u00eepe").encode("latin-1"),
        suffix=".yaml",
    )
