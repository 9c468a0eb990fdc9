"""``ovtriton infer``: the seed's classification client, for any served image classifier.

Input and output names come from the model's metadata unless given."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ovtriton.client import TensorMetadata
from ovtriton.commands import add_connection_options, add_resize_option, url_of
from ovtriton.errors import UserError
from ovtriton.seed import client, photos
from ovtriton.seed.demo import classify_and_report
from ovtriton.seed.repository import PIPELINE


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "infer",
        description="Send images one batch per request, print each request's time and top "
        "class (Correct/Incorrect match against the labels), then the seed client's statistics "
        "and the classification accuracy. Without --images, the seed's real photos are used.",
        epilog="examples:\n  ovtriton infer image_classification_pipeline\n"
        "  ovtriton infer image_classification_pipeline --images imgs.npy --labels lbs.npy "
        "--protocol http --iterations 20\n"
        "  ovtriton infer efficientnet-lite0 --input-name input --output-name prob --images photos/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "name",
        nargs="?",
        default=PIPELINE,
        metavar="NAME",
        help=f"model or pipeline name (default {PIPELINE})",
    )
    add_connection_options(parser)
    parser.add_argument(
        "--images",
        type=Path,
        default=None,
        metavar="PATH",
        help="images as .npy [N,C,H,W] or [N,H,W,C], or a folder of image files "
        "(default: the seed's photos)",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        default=None,
        metavar="NPY",
        help="ImageNet ids as .npy: [N], or [N,K] of accepted ids padded with -1",
    )
    parser.add_argument(
        "--input-name",
        default=None,
        help="input tensor (default: the model's input, from its metadata, if it has one)",
    )
    parser.add_argument(
        "--output-name",
        default=None,
        help="output tensor: class ids, or scores to arg-max (default: the model's output, "
        "from its metadata, if it has one)",
    )
    parser.add_argument(
        "--transpose",
        choices=tuple(client.TRANSPOSES),
        default="none",
        help="layout change applied to the images before sending (default none)",
    )
    add_resize_option(parser)
    parser.add_argument(
        "--iterations",
        type=int,
        default=0,
        help="requests to send, cycling over the images (default 0: each batch once)",
    )
    parser.add_argument("--batch-size", type=int, default=1, help="images per request (default 1)")
    parser.set_defaults(run=run)


def load_images(args: argparse.Namespace) -> tuple[np.ndarray, Optional[np.ndarray], str]:
    labels = _load_npy(args.labels) if args.labels else None
    if args.images is None:
        images, seed_labels = photos.photo_batch(args.resize)
        return images, labels if labels is not None else seed_labels, "the seed's photos"
    if args.images.is_dir():
        images, _ = photos.read_image_folder(args.images, args.resize)
    else:
        images = _load_npy(args.images).astype(np.float32, copy=False)
    return images, labels, str(args.images)


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path} as a .npy array: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from ovtriton.commands import probe

    images, labels, source = load_images(args)
    images = client.transpose(np.asarray(images), args.transpose)
    connection, meta = probe.fetch_metadata(url_of(args), args.protocol, args.name)
    classify_and_report(
        connection,
        args.name,
        images,
        labels,
        source,
        print,
        args.input_name or _only(meta.inputs, "input", args.name),
        args.output_name or _only(meta.outputs, "output", args.name),
        args.batch_size,
        args.iterations,
    )
    return 0


def _only(tensors: Sequence[TensorMetadata], kind: str, model: str) -> str:
    """The name of the model's single input (or output); several need --input-name/--output-name."""
    if len(tensors) != 1:
        names = ", ".join(t.name for t in tensors)
        raise UserError(
            f"{model!r} has {len(tensors)} {kind}s ({names}); choose one with --{kind}-name"
        )
    return tensors[0].name
