"""Your own images in the ImageFolder layout: ``PATH/<class name>/<image files>``, one subfolder per class.

Class names are the sorted subfolder names; hidden files and folders (``.name``) and files that are not
images are ignored, and images in nested folders inside a class folder count for that class (as in
torchvision's ``ImageFolder``). Every image is read with Pillow, converted to RGB and resized to
``image_size`` x ``image_size`` (bilinear).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from reportgen.workloads.data.imageset import DatasetError, ImageSet, split

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})


def load_folder(path: Path, image_size: int, val_fraction: float = 0.2, seed: int = 0) -> ImageSet:
    """The images under ``path`` (one subfolder per class) as uint8 NHWC arrays with a seeded split.

    Raises :class:`DatasetError`, naming the folder or file, for a missing path, a file, no or only one
    class folder, a class folder without images, an unreadable image or too few images to split.
    """
    root = Path(path).expanduser()
    classes, files = _scan(root)
    n_val = max(1, int(round(len(files) * val_fraction)))
    if len(files) - n_val < 1:
        raise DatasetError(f"{root} has {len(files)} images, too few for a non-empty training and validation "
                           f"split at val_fraction={val_fraction}")
    images = np.empty((len(files), image_size, image_size, 3), dtype=np.uint8)
    for i, (file, _) in enumerate(files):
        images[i] = _read_image(file, image_size)
    labels = np.array([label for _, label in files], dtype=np.int64)
    parts = split(images, labels, val_fraction, seed)
    source = f"folder {root.resolve()} ({len(files)} images, {len(classes)} classes)"
    return ImageSet(f"folder:{path}", *parts, classes=classes, source=source)


def _scan(root: Path) -> tuple[tuple[str, ...], list[tuple[Path, int]]]:
    """The class names and every ``(image file, label)`` pair, in a deterministic order."""
    if not root.exists():
        raise DatasetError(f"image folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root} is a file, not a folder with one subfolder of images per class")
    class_dirs = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                        key=lambda p: p.name)
    if not class_dirs:
        raise DatasetError(f"{root} has no class subfolders (expected one subfolder of images per class)")
    if len(class_dirs) < 2:
        raise DatasetError(f"{root} has only one class folder ({class_dirs[0].name}); needs at least 2 classes")
    files: list[tuple[Path, int]] = []
    for label, folder in enumerate(class_dirs):
        found = _images_in(folder, visited={os.path.realpath(p) for p in (root, *class_dirs)})
        if not found:
            raise DatasetError(f"class folder {folder} has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        files.extend((file, label) for file in found)
    return tuple(p.name for p in class_dirs), files


def _images_in(folder: Path, visited: set[str]) -> list[Path]:
    """Image files under ``folder`` (nested folders included, hidden ones skipped), sorted.

    Linked folders are followed, each real folder once and never into ``visited`` (the data set's root and
    class folders): a link back up the tree is a loop, not more images.
    """
    found: list[Path] = []
    seen = set(visited)
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        keep = []
        for d in sorted(d for d in dirnames if not d.startswith(".")):
            real = os.path.realpath(os.path.join(dirpath, d))
            if real not in seen:
                seen.add(real)
                keep.append(d)
        dirnames[:] = keep
        found.extend(Path(dirpath, f) for f in sorted(filenames)
                     if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_SUFFIXES)
    return found


def _read_image(file: Path, size: int) -> np.ndarray:
    """One image as a ``(size, size, 3)`` uint8 array."""
    from PIL import Image

    try:
        with Image.open(file) as image:
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale (still >= size), much faster
            rgb = image.convert("RGB")
        if rgb.size != (size, size):
            rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(rgb, dtype=np.uint8)
    except Exception as exc:  # Pillow's decoders raise OSError, ValueError, SyntaxError, struct.error, ...
        reason = str(exc).replace(repr(str(file)), "").replace(str(file), "")  # Pillow may repeat the path
        reason = " ".join(reason.split()) or type(exc).__name__
        raise DatasetError(f"cannot read image {file}: {reason}") from exc
