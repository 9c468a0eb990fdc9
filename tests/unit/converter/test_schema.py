"""Reading the config file and checking each value's type and keys, with exact messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from ovtriton.converter.errors import ConfigError, Problems
from ovtriton.converter.schema import Reader, load_document


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_document(path)
    (problem,) = info.value.problems
    return str(problem)


def test_load_document_reads_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"a": [1]}')
    (tmp_path / "c.yaml").write_text("a:\n  - 1\n")
    assert load_document(tmp_path / "c.json") == load_document(tmp_path / "c.yaml") == {"a": [1]}


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "c.json",
            b'{"a": 1, "a": 2}',
            "(file): key 'a' appears twice in one object\n    hint: keep one of them",
        ),
        (
            "c.json",
            b'{"a": }',
            "(file): not valid JSON: Expecting value at line 1 column 7\n    hint: fix the "
            "syntax; YAML is read only from files ending in .yaml or .yml",
        ),
        (
            "c.json",
            b'{"a": "\xe9"}',
            "(file): not UTF-8: byte 0xe9 at offset 7\n    hint: save the file as UTF-8",
        ),
    ],
)
def test_load_document_refuses_with_exact_message(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(data)
    assert load_error(tmp_path / name) == message


def test_load_document_never_constructs_yaml_python_tags(tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text("a: !!python/object/apply:os.system ['true']\n")
    assert load_error(tmp_path / "c.yml").startswith("(file): not valid YAML: ")


def test_load_document_says_when_the_file_is_missing(tmp_path: Path) -> None:
    assert load_error(tmp_path / "none.json") == "(file): the config file does not exist"


def test_reader_obj_names_unknown_keys_with_a_close_match_and_missing_ones() -> None:
    problems = Problems()
    Reader(problems).obj({"nmae": "x"}, ["m", 0], ("name", "base_path"), required=("name",))
    assert [str(p) for p in problems.items] == [
        "m[0].nmae: unknown key 'nmae'\n    hint: did you mean 'name'?",
        "m[0]: missing required key 'name'",
    ]
    assert not problems.readable("m[0].name")  # left out: later checks must not echo it
    assert problems.readable("m[0].base_path")


def test_reader_each_keeps_readable_entries_and_files_the_others_as_unread() -> None:
    problems = Problems()
    read = Reader(problems)
    assert read.each(["a", 3, "c"], ["inputs"], read.string) == ["a", "c"]
    assert [str(p) for p in problems.items] == ["inputs[1]: expected a string, got an integer"]
    assert not problems.readable("inputs[1]") and problems.readable("inputs[0]")
    assert read.each({"a": 1}, ["outputs"], read.string) == []
    assert not problems.readable("outputs")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "x: expected an integer, got a boolean"),
        (0, "x: 0 is out of range\n    hint: use an integer between 1 and 5"),
        ("3", "x: expected an integer, got a string"),
    ],
)
def test_reader_integer_refuses_booleans_strings_and_out_of_range(
    value: object, message: str
) -> None:
    problems = Problems()
    assert Reader(problems).integer(value, ["x"], 1, 5) is None
    assert [str(p) for p in problems.items] == [message]


def test_reader_string_refuses_nul_and_lone_surrogates() -> None:
    problems = Problems()
    assert Reader(problems).string("a\x00b", ["n"]) is None
    assert problems.items[0].message == "'a\\x00b' holds a NUL character or a lone UTF-16 surrogate"
