"""The building blocks together, in the shapes of OVMS's documentation: a custom node that
demultiplexes dynamically -> an OpenVINO model per slice (concurrently) -> gather_from_node at a
custom node; and entry demultiplexing around a custom node. Expected values by NumPy."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from ovtriton.backend.custom_node import CustomNodeLibrary
from ovtriton.backend.custom_node_executor import CustomNodeExecutor
from ovtriton.backend.demultiplex import DYNAMIC, DemultiplexError, demultiply, gather, gather_all
from tests.custom_nodes.build import compile_library


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CustomNodeLibrary]]:
    out = tmp_path_factory.mktemp("cn")
    libraries = {
        name: CustomNodeLibrary(compile_library(name, out), node=name)
        for name in ("split_tiles", "pick_max", "add_constant")
    }
    for library in libraries.values():
        library.initialize({})
    yield libraries
    for library in libraries.values():
        library.close()


def tile_scorer() -> ov.CompiledModel:
    """(1,H,W) tile -> (1,1): the sum of the tile plus its first column offset."""
    tile = ops.parameter([1, -1, -1], ov.Type.f32, name="tile")
    offset = ops.parameter([1, 1], ov.Type.i32, name="offset")
    total = ops.reduce_sum(tile, ops.constant(np.array([1, 2], np.int64)), keep_dims=False)
    score = ops.add(ops.unsqueeze(total, ops.constant(np.int64(1))), ops.convert(offset, "f32"))
    return ov.Core().compile_model(ov.Model([score], [tile, offset]), "CPU")


def run_crop_and_pick(
    nodes: dict[str, CustomNodeLibrary], image: np.ndarray, tiles: int
) -> dict[str, np.ndarray]:
    """request -> split_tiles (demultiply_count -1) -> scorer per tile -> pick_max
    (gather_from_node split_tiles) -> response."""
    params = {"tiles": str(tiles)}
    split = nodes["split_tiles"].execute({"image": image}, params)
    branches = demultiply("split", split, DYNAMIC)
    scorer = tile_scorer()

    def score(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        request = scorer.create_infer_request()
        result = request.infer({"tile": tensors["tiles"], "offset": tensors["offsets"]})
        return {"score": result[scorer.output(0)].copy()}

    with ThreadPoolExecutor(4) as pool:
        scored = list(zip([b for b, _ in branches], pool.map(score, [t for _, t in branches])))
    ((branch, gathered),) = gather(scored, ["split"])
    assert branch == ()
    with CustomNodeExecutor(1) as executor:
        return executor.submit(nodes["pick_max"], {"scores": gathered["score"]}, {}).result()


def test_custom_node_demultiplexes_model_scores_each_tile_custom_node_gathers(
    nodes: dict[str, CustomNodeLibrary],
) -> None:
    rng = np.random.default_rng(7)
    image = rng.random((4, 12), np.float32)
    for tiles in (1, 2, 3, 4, 6):
        width = 12 // tiles
        expected = [image[:, t * width : (t + 1) * width].sum() + t * width for t in range(tiles)]
        result = run_crop_and_pick(nodes, image, tiles)
        assert result["index"].tolist() == [int(np.argmax(expected))]
        np.testing.assert_allclose(result["max"], [max(expected)], rtol=1e-5)


def test_no_tiles_aborts_the_request(nodes: dict[str, CustomNodeLibrary]) -> None:
    with pytest.raises(DemultiplexError) as error:
        run_crop_and_pick(nodes, np.ones((4, 12), np.float32), 0)
    assert error.value.grpc_code == "ABORTED"


def test_entry_demultiplexing_around_a_custom_node(nodes: dict[str, CustomNodeLibrary]) -> None:
    # pipeline demultiply_count -1: (N,1,3) -> N x add_constant on (1,3) -> response (N,1,3)
    x = np.arange(15, dtype=np.float32).reshape(5, 1, 3)
    params = {"constant": "2.5"}
    branches = demultiply("request", {"in": x}, DYNAMIC)
    with CustomNodeExecutor(2) as executor:
        futures = [executor.submit(nodes["add_constant"], t, params) for _, t in branches]
        outputs = [future.result() for future in futures]
    response = gather_all(zip([b for b, _ in branches], outputs))
    assert response["out"].shape == (5, 1, 3)
    np.testing.assert_array_equal(response["out"], x + 2.5)
