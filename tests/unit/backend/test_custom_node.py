"""The custom node runtime against real libraries compiled from tests/custom_nodes/*.c."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

from ovtriton.backend.custom_node import (
    CustomNodeError,
    CustomNodeLibrary,
    CustomNodeLoadError,
    TensorInfo,
)
from tests.custom_nodes.build import compile_library


@pytest.fixture(scope="module")
def libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("custom_nodes")
    names = ["add_constant", "split_tiles", "pick_max", "failing", "echo"]
    built = {name: compile_library(name, out) for name in names}
    built["no_release"] = compile_library("echo", out, "NO_RELEASE")
    return built


def counters(path: Path) -> tuple[int, int]:
    """(buffers the library handed out, release() calls) read through its extra exports."""
    cdll = ctypes.CDLL(str(path))  # the same handle as the runtime's: dlopen shares it
    cdll.cn_allocated.restype = cdll.cn_released.restype = ctypes.c_long
    return cdll.cn_allocated(), cdll.cn_released()


def opened(path: Path, params: dict[str, str] | None = None) -> CustomNodeLibrary:
    library = CustomNodeLibrary(path, node="node")
    library.initialize(params or {})
    return library


def test_add_constant_adds_what_initialize_and_execute_read_from_the_node_params(
    libs: dict[str, Path],
) -> None:
    params = {"constant": "10", "offset": "0.5"}  # OVMS passes the node's params to both
    with opened(libs["add_constant"], params) as library:
        x = np.arange(6, dtype=np.float32).reshape(2, 3)
        result = library.execute({"in": x}, params)
        assert list(result) == ["out"]
        np.testing.assert_array_equal(result["out"], x + 10.5)
        assert result["out"].flags.writeable and result["out"].flags.owndata


def test_every_library_buffer_is_released_once(libs: dict[str, Path]) -> None:
    before = counters(libs["split_tiles"])
    with opened(libs["split_tiles"]) as library:
        library.outputs_info({})
        library.inputs_info({})
        for _ in range(3):
            library.execute({"image": np.ones((2, 8), np.float32)}, {"tiles": "4"})
    allocated, released = counters(libs["split_tiles"])
    # per execute: the outputs array + 2 x (data, dims) = 5; info: 2 arrays + 3 dims = 5
    assert allocated - before[0] == 3 * 5 + 5
    assert released - before[1] == allocated - before[0]


def test_split_tiles_returns_dynamic_first_dimension(libs: dict[str, Path]) -> None:
    image = np.arange(24, dtype=np.float32).reshape(2, 12)
    with opened(libs["split_tiles"]) as library:
        for n in (1, 3, 4):
            result = library.execute({"image": image}, {"tiles": str(n)})
            assert result["tiles"].shape == (n, 1, 2, 12 // n)
            for t in range(n):
                np.testing.assert_array_equal(
                    result["tiles"][t, 0], image[:, t * 12 // n : (t + 1) * 12 // n]
                )
            assert result["offsets"].dtype == np.int32
            assert result["offsets"].ravel().tolist() == [t * 12 // n for t in range(n)]
        empty = library.execute({"image": image}, {"tiles": "0"})
        assert empty["tiles"].shape == (0, 1, 2, 0)


def test_info_reports_names_precisions_and_dynamic_dims(libs: dict[str, Path]) -> None:
    with opened(libs["split_tiles"]) as library:
        assert library.inputs_info({}) == {
            "image": TensorInfo("image", "FP32", np.dtype(np.float32), (-1, -1))
        }
        outputs = library.outputs_info({})
        assert outputs["tiles"] == TensorInfo(
            "tiles", "FP32", np.dtype(np.float32), (-1, 1, -1, -1)
        )
        assert outputs["offsets"] == TensorInfo("offsets", "I32", np.dtype(np.int32), (-1, 1, 1))
    with opened(libs["echo"]) as library:
        assert library.inputs_info({}) == {"any": TensorInfo("any", "UNSPECIFIED", None, (-1,))}


def test_pick_max_returns_value_and_int64_index(libs: dict[str, Path]) -> None:
    scores = np.array([[0.1, 0.7, 0.2], [0.9, 0.3, 0.9]], np.float32)
    with opened(libs["pick_max"]) as library:
        result = library.execute({"scores": scores}, {})
    assert result["max"].tolist() == [pytest.approx(0.9)]
    assert result["index"].dtype == np.int64 and result["index"].tolist() == [3]


@pytest.mark.parametrize(
    "dtype",
    [
        np.float32,
        np.float16,
        np.uint8,
        np.int8,
        np.int16,
        np.uint16,
        np.int32,
        np.float64,
        np.int64,
    ],
)
def test_every_precision_of_the_api_round_trips(libs: dict[str, Path], dtype: type) -> None:
    value = (np.arange(12).reshape(3, 4) - 5).astype(dtype)
    with opened(libs["echo"]) as library:
        result = library.execute({"a": value, "b": value[::2].T}, {})
    assert result["a"].dtype == np.dtype(dtype) and result["a"].shape == (3, 4)
    np.testing.assert_array_equal(result["a"], value)
    np.testing.assert_array_equal(result["b"], value[::2].T)  # a strided view is sent contiguous


def test_dtype_outside_the_api_is_refused_naming_the_input(libs: dict[str, Path]) -> None:
    with opened(libs["echo"]) as library, pytest.raises(CustomNodeError) as error:
        library.execute({"flags": np.ones(2, np.bool_)}, {})
    assert "input 'flags' has data type bool" in str(error.value)
    assert error.value.grpc_code == "INVALID_ARGUMENT"
    assert "FP32, FP16, U8, I8, I16, U16, I32, FP64, I64" in str(error.value)


def test_execute_failure_names_node_library_and_code(libs: dict[str, Path]) -> None:
    with opened(libs["failing"]) as library, pytest.raises(CustomNodeError) as error:
        library.execute({"x": np.ones(1, np.float32)}, {})
    assert str(error.value) == (
        f"custom node 'node' (library {libs['failing']}): execute returned 7 "
        "(OVMS: Custom node failed during execution)"
    )
    assert error.value.status == "NODE_LIBRARY_EXECUTION_FAILED"
    assert error.value.grpc_code == "UNKNOWN"


def test_initialize_failure_names_library_and_code(libs: dict[str, Path]) -> None:
    library = CustomNodeLibrary(libs["failing"], node="node")
    with pytest.raises(CustomNodeLoadError, match=r"initialize returned 3 with params"):
        library.initialize({"fail_init": "1"})
    library.close()


def test_info_failure_is_a_load_error(libs: dict[str, Path]) -> None:
    with opened(libs["failing"]) as library:
        with pytest.raises(CustomNodeLoadError, match="getOutputsInfo returned 5"):
            library.outputs_info({"fail_info": "yes"})
        assert list(library.outputs_info({})) == ["y"]


@pytest.mark.parametrize(
    ("corrupt", "status", "message"),
    [
        ("bytes", "NODE_LIBRARY_INVALID_CONTENT_SIZE", "dims [2, 2] of I16 need 8 bytes, "
         "the library returned 7 bytes"),
        ("precision", "NODE_LIBRARY_INVALID_PRECISION", "output 'a' has precision UNSPECIFIED"),
    ],
)  # fmt: skip
def test_corrupt_output_is_an_error_and_still_released(
    libs: dict[str, Path], corrupt: str, status: str, message: str
) -> None:
    before = counters(libs["echo"])
    with opened(libs["echo"]) as library, pytest.raises(CustomNodeError) as error:
        library.execute(
            {"a": np.ones((2, 2), np.int16), "b": np.ones(3, np.int16)}, {"corrupt": corrupt}
        )
    assert error.value.status == status and message in str(error.value)
    allocated, released = counters(libs["echo"])
    assert allocated - before[0] == 5 and released - before[1] == 5


def test_missing_file_fails_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(CustomNodeLoadError, match=f"{tmp_path}/nope.so: no such file"):
        CustomNodeLibrary(tmp_path / "nope.so")


def test_non_library_fails_to_load_naming_path_and_reason(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.so"
    bogus.write_text("not an ELF file, " * 20)
    with pytest.raises(CustomNodeLoadError) as error:
        CustomNodeLibrary(bogus)
    assert str(error.value).startswith(f"custom node library {bogus}: cannot be loaded: ")
    assert "invalid ELF header" in str(error.value)


def test_missing_dependency_fails_naming_it(tmp_path: Path) -> None:
    dependency = tmp_path / "helper.c"
    dependency.write_text("int helper(void) { return 1; }\n")
    compile_library(dependency, tmp_path)
    library = compile_library(
        "echo", tmp_path, link=[f"-L{tmp_path}", "-Wl,--no-as-needed", "-lhelper"]
    )
    (tmp_path / "libhelper.so").unlink()  # as an OVMS node whose OpenCV is not installed
    with pytest.raises(CustomNodeLoadError) as error:
        CustomNodeLibrary(library)
    assert "libhelper.so: cannot open shared object file" in str(error.value)
    assert str(error.value).endswith("that its dependencies are found (ldd)")


def test_missing_symbol_fails_naming_it(libs: dict[str, Path]) -> None:
    with pytest.raises(CustomNodeLoadError) as error:
        CustomNodeLibrary(libs["no_release"])
    assert f"{libs['no_release']}: does not export the symbol 'release'" in str(error.value)


def test_close_deinitializes_once_and_blocks_further_use(libs: dict[str, Path]) -> None:
    cdll = ctypes.CDLL(str(libs["add_constant"]))
    cdll.cn_deinitialized.restype = ctypes.c_long
    before = cdll.cn_deinitialized()
    library = opened(libs["add_constant"])
    library.close()
    library.close()
    assert cdll.cn_deinitialized() == before + 1
    with pytest.raises(RuntimeError, match="used when closed"):
        library.execute({"in": np.ones((1, 3), np.float32)}, {"constant": "1"})
