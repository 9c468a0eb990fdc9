"""Photos' preprocessing and the client's answer checking, without a server."""

from __future__ import annotations

import numpy as np
import pytest

from ovtriton.seed.client import Answer, Iteration, accepted_labels, predictions
from ovtriton.seed.photos import labels_array, preprocess


def test_preprocess_crop_keeps_the_centre_and_squash_the_whole_picture() -> None:
    image = np.zeros((256, 512, 3), np.uint8)
    image[:, :128] = 255  # left quarter white: cropped away by crop, kept by squash
    cropped, squashed = preprocess(image, "crop"), preprocess(image, "squash")
    assert cropped.shape == squashed.shape == (3, 224, 224)
    assert cropped.dtype == np.float32
    assert cropped.max() == 0.0
    assert squashed[:, :, :50].min() == 255.0


def test_preprocess_expands_grayscale_to_three_channels() -> None:
    out = preprocess(np.full((300, 300), 7, np.uint8), "squash")
    assert np.all(out == 7.0)


def test_labels_with_several_accepted_ids_are_padded_and_read_back() -> None:
    labels = labels_array([(281, 282, 285), (872,)])
    assert labels.tolist() == [[281, 282, 285], [872, -1, -1]]
    assert accepted_labels(labels, 1) == (872,)
    assert accepted_labels(np.array([404, 279]), 1) == (279,)


def test_predictions_take_ids_as_they_are_and_argmax_scores() -> None:
    assert predictions(np.array([285], np.int64), 1).tolist() == [285]
    scores = np.zeros((2, 1000), np.float32)
    scores[0, 3], scores[1, 7] = 1, 1
    assert predictions(scores, 2).tolist() == [3, 7]


def test_iteration_lines_follow_the_seed_format() -> None:
    iteration = Iteration(3, 20.0, 1, (Answer(0, 285, (281, 282, 285)),))
    assert iteration.lines() == [
        "Iteration 3; Processing time: 20.00 ms; speed 50.00 fps",
        "imagenet top results in a single batch:",
        "\t 0 Egyptian cat 285 ; Correct match.",
    ]
    wrong = Answer(0, 400, (652,)).line()
    assert wrong.endswith("; Incorrect match. Should be 652 military uniform")


@pytest.mark.parametrize("method", ["crop", "squash"])
def test_preprocess_of_a_real_photo_keeps_the_pixel_range(method: str) -> None:
    from ovtriton.seed.photos import PHOTOS

    out = preprocess(PHOTOS[0].load(), method)
    assert 0.0 <= out.min() and out.max() <= 255.0
