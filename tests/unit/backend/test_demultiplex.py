"""Demultiplexing and gathering against the examples of OVMS's docs/demultiplexing.md, with the
expected shapes and values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ovtriton.backend.demultiplex import (
    DYNAMIC,
    DemultiplexError,
    Level,
    demultiply,
    gather,
    gather_all,
    gathered_dims,
)


def test_docs_basic_example_three_branches_gathered_at_response() -> None:
    # Model_A emits output_A (3,1,100,100) and output_B (3,1,40,130), demultiply_count 3.
    a = np.arange(3 * 100 * 100, dtype=np.float32).reshape(3, 1, 100, 100)
    b = np.arange(3 * 40 * 130, dtype=np.float32).reshape(3, 1, 40, 130)
    branches = demultiply("Model_A_node", {"output_A": a, "output_B": b}, 3)
    assert [branch for branch, _ in branches] == [(Level("Model_A_node", i, 3),) for i in range(3)]
    for i, (_, tensors) in enumerate(branches):
        assert tensors["output_A"].shape == (1, 100, 100)
        assert tensors["output_B"].shape == (1, 40, 130)
        assert tensors["output_A"][0, 0, 0] == i * 10000
    # Model_B emits output (1,50) per branch: here 50 copies of its branch's first value.
    results = [
        (branch, {"output": np.full((1, 50), t["output_B"][0, 0, 0], np.float32)})
        for branch, t in branches
    ]
    response = gather_all(reversed(results))  # arrival order does not matter
    assert response["output"].shape == (3, 1, 50)
    assert response["output"][:, 0, 0].tolist() == [0.0, 5200.0, 10400.0]


def test_entry_demultiplexing_resnet_shapes() -> None:
    # Pipeline-level demultiply_count -1: the client sends (N,1,3,224,224), gets (N,1,1001).
    request = np.zeros((4, 1, 3, 224, 224), np.float32)
    branches = demultiply("request", {"image": request}, DYNAMIC)
    assert len(branches) == 4
    assert {t["image"].shape for _, t in branches} == {(1, 3, 224, 224)}
    results = [(b, {"prob": np.full((1, 1001), b[0].index, np.float32)}) for b, _ in branches]
    response = gather_all(results)
    assert response["prob"].shape == (4, 1, 1001)
    assert response["prob"][:, 0, 7].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_shards_are_views_not_copies() -> None:
    data = np.ones((2, 1, 3), np.float32)
    ((_, first), _) = demultiply("n", {"x": data}, 2)
    assert np.shares_memory(first["x"], data)


def nested(outer: int, inner: int) -> list:
    """request -> A (demultiply_count outer) -> B (demultiply_count inner) -> node emitting (1,2)
    per branch, holding [10 * a + b, a * b]."""
    results = []
    a_out = np.arange(outer, dtype=np.float32).reshape(outer, 1, 1)
    for a_branch, a_tensors in demultiply("A", {"a": a_out}, outer):
        a = int(a_tensors["a"][0, 0])
        b_out = np.arange(inner, dtype=np.float32).reshape(inner, 1, 1) + 100 * a
        for branch, tensors in demultiply("B", {"b": b_out}, inner, a_branch):
            b = int(tensors["b"][0, 0]) - 100 * a
            results.append((branch, {"y": np.array([[10 * a + b, a * b]], np.float32)}))
    return results


def test_nested_demultiplexers_gathered_at_response_prepend_outer_first() -> None:
    # Demultiplexers 3 then 5 (docs/multiple_demultiplexers.svg): the response is (3,5,...).
    response = gather_all(nested(3, 5))
    assert response["y"].shape == (3, 5, 1, 2)
    assert response["y"][2, 4, 0].tolist() == [24.0, 8.0]
    assert response["y"][1, 3, 0].tolist() == [13.0, 3.0]


def test_gather_of_gathers_inner_first_then_outer() -> None:
    # gather_from_node B before node C: C runs once per A branch with input (5,1,2);
    # C emits the sum over B's shards (1,2); the response gathers A: (3,1,2).
    gathered = gather(nested(3, 5), ["B"])
    assert [branch for branch, _ in gathered] == [(Level("A", i, 3),) for i in range(3)]
    assert {t["y"].shape for _, t in gathered} == {(5, 1, 2)}
    c_results = [(branch, {"z": t["y"].sum(axis=0)}) for branch, t in gathered]
    response = gather_all(c_results)
    assert response["z"].shape == (3, 1, 2)
    # a=1: sum over b of 10+b = 60, of 1*b = 10
    assert response["z"][1, 0].tolist() == [60.0, 10.0]
    assert gather(c_results, ["A"])[0][0] == ()


def test_gathering_the_outer_demultiplexer_first_breaks_lifo() -> None:
    with pytest.raises(DemultiplexError) as error:
        gather(nested(2, 2), ["A"])
    assert error.value.status == "PIPELINE_WRONG_DEMULTIPLEXER_GATHER_NODES_ORDER"
    assert str(error.value).startswith("Demultiplexer and gather nodes are not in LIFO order: ")
    assert "gather 'B' first" in str(error.value)


def test_gathering_from_a_node_that_did_not_demultiplex_is_refused() -> None:
    with pytest.raises(DemultiplexError) as error:
        gather(nested(2, 2), ["C"])
    assert error.value.status == "PIPELINE_NODE_GATHER_FROM_NOT_DEMULTIPLEXER"


def test_static_count_that_does_not_match_the_data_fails_as_ovms() -> None:
    outputs = {"output_A": np.zeros((3, 1, 4)), "output_B": np.zeros((2, 1, 4))}
    with pytest.raises(DemultiplexError) as error:
        demultiply("Model_A_node", outputs, 3)
    assert error.value.status == "PIPELINE_WRONG_DIMENSION_SIZE_TO_DEMULTIPLY"
    assert error.value.grpc_code == "UNKNOWN"
    assert str(error.value) == (
        "Wrong dimension size. Should match demultiply count: node 'Model_A_node' output "
        "'output_B' of shape [2, 1, 4]: dim 0 must be 3 (demultiply_count); make the node "
        "produce that many or fix demultiply_count"
    )


def test_dynamic_count_needs_one_dim0_for_all_outputs() -> None:
    outputs = {"tiles": np.zeros((4, 1, 2, 3)), "offsets": np.zeros((3, 1, 1))}
    with pytest.raises(DemultiplexError, match=r"dim 0 must be 4 \(dim 0 of 'tiles'\)"):
        demultiply("split", outputs, DYNAMIC)


def test_dynamic_demultiplexer_with_no_shards_aborts() -> None:
    with pytest.raises(DemultiplexError) as error:
        demultiply("split", {"tiles": np.zeros((0, 1, 2, 3))}, DYNAMIC)
    assert error.value.status == "PIPELINE_DEMULTIPLEXER_NO_RESULTS"
    assert error.value.grpc_code == "ABORTED"
    assert str(error.value).startswith(
        "Pipeline execution aborted due to no content from custom node: node 'split'"
    )


@pytest.mark.parametrize("shape", [(), (3,), (3, 4)])
def test_outputs_of_rank_below_three_cannot_be_demultiplexed(shape: tuple) -> None:
    with pytest.raises(DemultiplexError) as error:
        demultiply("n", {"x": np.zeros(shape)}, DYNAMIC)
    assert error.value.status == "PIPELINE_WRONG_NUMBER_OF_DIMENSIONS_TO_DEMULTIPLY"
    assert "need at least 3 dimensions" in str(error.value)


def test_more_than_ten_thousand_shards_is_too_large() -> None:
    with pytest.raises(DemultiplexError) as error:
        demultiply("n", {"x": np.zeros((10_001, 1, 1), np.uint8)}, DYNAMIC)
    assert error.value.status == "PIPELINE_TOO_LARGE_DIMENSION_SIZE_TO_DEMULTIPLY"
    assert len(demultiply("n", {"x": np.zeros((10_000, 1, 1), np.uint8)}, DYNAMIC)) == 10_000


def test_shards_of_different_shapes_cannot_be_gathered() -> None:
    branches = demultiply("n", {"x": np.zeros((2, 1, 1))}, 2)
    results = [(b, {"y": np.zeros((1, 2 + i), np.float32)}) for i, (b, _) in enumerate(branches)]
    with pytest.raises(DemultiplexError) as error:
        gather_all(results)
    assert error.value.status == "PIPELINE_INCONSISTENT_SHARD_DIMENSIONS"
    assert "tensor 'y': shard [0] is float32 [1, 2], shard [1] is float32 [1, 3]" in str(
        error.value
    )


def test_a_missing_shard_is_a_bug_not_a_silent_hole() -> None:
    branches = demultiply("n", {"x": np.zeros((3, 1, 1))}, 3)
    with pytest.raises(ValueError, match=r"shards \[\(1,\)\] are missing"):
        gather_all([(b, {"y": np.zeros(1)}) for i, (b, _) in enumerate(branches) if i != 1])


def test_without_demultiplexer_the_response_is_the_single_result() -> None:
    assert gather_all([((), {"y": np.ones(2)})])["y"].tolist() == [1.0, 1.0]


def test_declared_dims_follow_the_docs_examples() -> None:
    # Model_B's (1,50) behind a demultiply_count 3 -> (3,1,50).
    assert gathered_dims((1, 50), [3]) == (3, 1, 50)
    # entry demultiplexing -1 around ResNet: [-1,1,3,224,224] -> [-1,1,1000]
    assert gathered_dims((1, 1000), [DYNAMIC]) == (-1, 1, 1000)
    assert gathered_dims((1, 2), [3, 5]) == (3, 5, 1, 2)
