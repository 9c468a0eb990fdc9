from pathlib import Path

import pytest

from ovtriton.backend.errors import ModelLoadError
from ovtriton.backend.model_files import find_model_file, read_mapping


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_find_model_file_prefers_ir_over_onnx(tmp_path: Path) -> None:
    touch(tmp_path / "a.onnx")
    touch(tmp_path / "m.xml")
    touch(tmp_path / "m.bin")
    assert find_model_file(tmp_path) == tmp_path / "m.xml"


def test_find_model_file_follows_ovms_priority(tmp_path: Path) -> None:
    touch(tmp_path / "m.tflite")
    assert find_model_file(tmp_path).name == "m.tflite"
    touch(tmp_path / "saved_model.pb")
    assert find_model_file(tmp_path) == tmp_path  # SavedModel is read as its folder
    touch(tmp_path / "p.pdmodel")
    touch(tmp_path / "p.pdiparams")
    assert find_model_file(tmp_path).name == "p.pdmodel"
    touch(tmp_path / "m.onnx")
    assert find_model_file(tmp_path).name == "m.onnx"


def test_find_model_file_uses_default_model_filename(tmp_path: Path) -> None:
    touch(tmp_path / "a.onnx")
    touch(tmp_path / "b.onnx")
    assert find_model_file(tmp_path, "b.onnx").name == "b.onnx"


def test_find_model_file_names_missing_default_model_filename(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="default_model_filename 'x.onnx'"):
        find_model_file(tmp_path, "x.onnx")


def test_find_model_file_requires_bin_beside_xml(tmp_path: Path) -> None:
    touch(tmp_path / "m.xml")
    with pytest.raises(ModelLoadError, match="needs m.bin beside it"):
        find_model_file(tmp_path)


def test_find_model_file_lists_formats_when_folder_is_empty(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"no model file in .*OpenVINO IR \(\.xml\)"):
        find_model_file(tmp_path)


def test_find_model_file_reports_missing_version_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="version folder .* does not exist"):
        find_model_file(tmp_path / "3")


def test_read_mapping_returns_inputs_and_outputs(tmp_path: Path) -> None:
    touch(tmp_path / "mapping_config.json", '{"inputs": {"a:0": "a"}, "outputs": {"y:0": "y"}}')
    assert read_mapping(tmp_path) == ({"a:0": "a"}, {"y:0": "y"})
    assert read_mapping(tmp_path / "none") == ({}, {})


@pytest.mark.parametrize("text", ["{", '{"inputs": [1]}', '{"other": {}}'])
def test_read_mapping_rejects_malformed_file(tmp_path: Path, text: str) -> None:
    touch(tmp_path / "mapping_config.json", text)
    with pytest.raises(ModelLoadError, match="mapping_config.json"):
        read_mapping(tmp_path)
