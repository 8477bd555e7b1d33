"""Real CIFAR-10, from the dataset authors' *binary* archive (never unpickled), cached as NumPy arrays.

The archive is downloaded once into ``<cache>/cifar10/`` (``cache_dir``, else ``$REPORTGEN_DATA_DIR``, else
``~/.cache/reportgen``), checked against its published MD5 and read member by member straight from the tar:
nothing from the archive is ever extracted to disk. The parsed arrays go to ``cifar10.npz`` next to it, so
later loads are fast and need no network. The 10,000 test images serve as the validation split.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from reportgen.workloads.data.imageset import DatasetError, ImageSet

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published on https://www.cs.toronto.edu/~kriz/cifar.html
ARCHIVE = "cifar-10-binary.tar.gz"
CACHE = "cifar10.npz"
MEMBER_DIR = "cifar-10-batches-bin"
TRAIN_MEMBERS = tuple(f"{MEMBER_DIR}/data_batch_{i}.bin" for i in range(1, 6))
TEST_MEMBER = f"{MEMBER_DIR}/test_batch.bin"
META_MEMBER = f"{MEMBER_DIR}/batches.meta.txt"
SIDE = 32
RECORD = 1 + 3 * SIDE * SIDE  # one label byte, then the red, green and blue planes, each row-major 32x32
CHUNK = 1 << 20
TIMEOUT_S = 60.0


def data_dir(cache_dir: Path | None = None) -> Path:
    """``<cache>/cifar10``: ``cache_dir``, else ``$REPORTGEN_DATA_DIR``, else ``~/.cache/reportgen``."""
    if cache_dir is None:
        env = os.environ.get("REPORTGEN_DATA_DIR")
        cache_dir = Path(env) if env else Path.home() / ".cache" / "reportgen"
    return Path(cache_dir).expanduser() / "cifar10"


def load_cifar10(cache_dir: Path | None = None, download: bool = True) -> ImageSet:
    """CIFAR-10: 50,000 training and 10,000 validation (the official test) images, uint8 NHWC 32x32.

    Uses the cached arrays when present, else the archive in the cache folder (checked against ``MD5``),
    else downloads it from ``URL`` (unless ``download`` is false). Raises :class:`DatasetError` otherwise.
    """
    folder = data_dir(cache_dir)
    cached = _read_cache(folder / CACHE)
    if cached is not None:
        return cached
    archive = folder / ARCHIVE
    if archive.is_file():
        got = _md5(archive)
        if got != MD5:
            raise DatasetError(f"{archive} has MD5 {got}, expected {MD5}: it is damaged or not the CIFAR-10 "
                               f"binary version; delete it to download it again")
    elif not download:
        raise _offline(folder, "downloading is turned off")
    else:
        _download(folder, archive)
    images = _parse(archive)
    _write_cache(folder / CACHE, images)
    return images


def _offline(folder: Path, reason: str) -> DatasetError:
    reason = " ".join(reason.split()) or "unknown error"
    return DatasetError(f"CIFAR-10 is not in {folder} and could not be downloaded from {URL} ({reason}); offline, "
                        f"use --dataset digits (bundled), --dataset synthetic or --dataset folder:PATH, "
                        f"or put {ARCHIVE} in {folder}")


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _download(folder: Path, archive: Path) -> None:
    """Fetch ``URL`` into a ``.part`` file with a progress bar; rename it to ``archive`` only if the MD5 matches."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=f"{ARCHIVE}.", suffix=".part")
    part = Path(name)
    digest = hashlib.md5(usedforsecurity=False)
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(URL, timeout=TIMEOUT_S) as response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                           TransferSpeedColumn(), TimeRemainingColumn())
                with Progress(*columns, console=Console(stderr=True)) as progress:
                    task = progress.add_task(f"CIFAR-10 {ARCHIVE}", total=total)
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        progress.advance(task, len(chunk))
        except urllib.error.HTTPError as exc:
            raise _offline(folder, f"HTTP {exc.code} {exc.reason}") from exc
        except urllib.error.URLError as exc:
            raise _offline(folder, str(exc.reason)) from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:  # timeouts, resets, truncated responses
            raise _offline(folder, str(exc) or type(exc).__name__) from exc
        got = digest.hexdigest()
        if got != MD5:
            raise DatasetError(f"download of {URL} has MD5 {got}, expected {MD5}; deleted it, try again later")
        os.replace(part, archive)
    finally:
        part.unlink(missing_ok=True)


def _check_member(archive: Path, member: tarfile.TarInfo) -> None:
    """Refuse any member that could land outside a destination if extracted, or is not a plain file or folder."""
    name = member.name
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        problem = "has an absolute path"
    elif ".." in path.parts or ".." in name.split("\\"):
        problem = "has a '..' component"
    elif member.issym() or member.islnk():
        problem = f"is a link (to {member.linkname!r})"
    elif not (member.isfile() or member.isdir()):
        problem = "is not a regular file or folder"
    else:
        try:  # the same checks tarfile's own "data" extraction filter makes, for good measure
            tarfile.data_filter(member, "/nonexistent-destination")
            return
        except tarfile.FilterError as exc:
            problem = f"is refused by tarfile's data filter ({exc})"
    raise DatasetError(f"refusing {archive}: member {name!r} {problem}")


def _records(archive: Path, tar: tarfile.TarFile, member: str) -> tuple[np.ndarray, np.ndarray]:
    data = _read_member(archive, tar, member)
    if not data or len(data) % RECORD:
        raise DatasetError(f"{archive}: {member} has {len(data)} bytes, not a whole number of {RECORD}-byte records")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    images = records[:, 1:].reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1)  # NCHW -> NHWC
    return np.ascontiguousarray(images), records[:, 0].astype(np.int64)


def _read_member(archive: Path, tar: tarfile.TarFile, member: str) -> bytes:
    try:
        info = tar.getmember(member)
    except KeyError:
        raise DatasetError(f"{archive} has no member {member}: not the CIFAR-10 binary version") from None
    f = tar.extractfile(info)
    if f is None or not info.isfile():
        raise DatasetError(f"{archive}: member {member} is not a regular file")
    with f:
        return f.read()


def _parse(archive: Path) -> ImageSet:
    """The train and test batches of the archive, read straight from the tar after checking every member."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                _check_member(archive, member)
            meta = _read_member(archive, tar, META_MEMBER).decode("utf-8", errors="replace")
            train = [_records(archive, tar, m) for m in TRAIN_MEMBERS]
            val_images, val_labels = _records(archive, tar, TEST_MEMBER)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DatasetError(f"cannot read {archive}: {' '.join(str(exc).split()) or type(exc).__name__}") from exc
    classes = tuple(line.strip() for line in meta.splitlines() if line.strip())
    train_images = np.concatenate([images for images, _ in train])
    train_labels = np.concatenate([labels for _, labels in train])
    top = int(max(train_labels.max(), val_labels.max()))
    if top >= len(classes):
        raise DatasetError(f"{archive}: label {top} but {META_MEMBER} names only {len(classes)} classes")
    return _image_set(train_images, train_labels, val_images, val_labels, classes)


def _image_set(train_images: np.ndarray, train_labels: np.ndarray, val_images: np.ndarray,
               val_labels: np.ndarray, classes: tuple[str, ...]) -> ImageSet:
    source = (f"CIFAR-10 binary version ({URL}), {len(train_images):,} train images, "
              f"{len(val_images):,} test images as validation")
    return ImageSet("cifar10", train_images, train_labels, val_images, val_labels, classes=classes, source=source)


def _write_cache(path: Path, images: ImageSet) -> None:
    """Save the arrays (and the archive's MD5) atomically, so a half-written cache is never read."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, train_images=images.train_images, train_labels=images.train_labels,
                     val_images=images.val_images, val_labels=images.val_labels,
                     classes=np.array(images.classes, dtype=str), md5=np.array(MD5))
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)


def _read_cache(path: Path) -> ImageSet | None:
    """The cached arrays, or None when there are none or they are unreadable or from another archive."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz["md5"]) != MD5:
                return None
            parts = [npz[key] for key in ("train_images", "train_labels", "val_images", "val_labels")]
            classes = tuple(str(c) for c in npz["classes"])
    except (OSError, ValueError, KeyError, EOFError, zlib.error, zipfile.BadZipFile):  # rebuilt from the archive
        return None
    train_images, train_labels, val_images, val_labels = parts
    shape = (SIDE, SIDE, 3)
    if (train_images.shape[1:] != shape or val_images.shape[1:] != shape or train_images.dtype != np.uint8
            or len(train_images) != len(train_labels) or len(val_images) != len(val_labels)):
        return None
    return _image_set(train_images, train_labels, val_images, val_labels, classes)
