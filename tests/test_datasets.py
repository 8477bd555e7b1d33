"""The CIFAR-10 and image-folder loaders, on small real files: no framework, no internet."""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reportgen.workloads.data import cifar10
from reportgen.workloads.data.cifar10 import load_cifar10
from reportgen.workloads.data.datasets import DatasetError, load_dataset
from reportgen.workloads.data.folder import load_folder

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
PER_BATCH = 20


# ---------------------------------------------------------------------------------------------- helpers


def fake_batch(batch: int) -> tuple[np.ndarray, np.ndarray]:
    """``PER_BATCH`` seeded NHWC images and labels; pixel (1, 2) of image 0 is (200, 100, 50)."""
    rng = np.random.default_rng(batch)
    images = rng.integers(0, 256, size=(PER_BATCH, 32, 32, 3), dtype=np.uint8)
    images[0, 1, 2] = (200, 100, 50)
    labels = (np.arange(PER_BATCH) + batch) % 10
    return images, labels


def records(images: np.ndarray, labels: np.ndarray) -> bytes:
    """The CIFAR-10 binary layout, written record by record: label byte, then the R, G and B planes."""
    out = bytearray()
    for image, label in zip(images, labels, strict=True):
        out.append(int(label))
        for channel in range(3):
            for row in range(32):
                out.extend(bytes(int(v) for v in image[row, :, channel]))
    return bytes(out)


def add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def fake_archive(extra: Callable[[tarfile.TarFile], None] | None = None) -> bytes:
    """A tiny ``cifar-10-binary.tar.gz`` in the real member layout (5 train batches + test batch)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        folder = tarfile.TarInfo("cifar-10-batches-bin")
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        tar.addfile(folder)
        add_file(tar, "cifar-10-batches-bin/batches.meta.txt", ("\n".join(CLASSES) + "\n\n").encode())
        for batch in range(1, 7):
            name = f"data_batch_{batch}.bin" if batch < 6 else "test_batch.bin"
            add_file(tar, f"cifar-10-batches-bin/{name}", records(*fake_batch(batch)))
        add_file(tar, "cifar-10-batches-bin/readme.html", b"<p>fake</p>")
        if extra is not None:
            extra(tar)
    return buf.getvalue()


@pytest.fixture(scope="module")
def archive() -> bytes:
    return fake_archive()


class Server:
    """A local HTTP server whose one file's bytes (or status) the test sets."""

    def __init__(self) -> None:
        self.body = b""
        self.status = 200
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                server.requests += 1
                self.send_response(server.status)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cifar-10-binary.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    srv = Server()
    monkeypatch.setattr(cifar10, "URL", srv.url)
    yield srv
    srv.stop()


def serve(server: Server, monkeypatch: pytest.MonkeyPatch, body: bytes) -> None:
    server.body = body
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(body).hexdigest())


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/cifar-10-binary.tar.gz"


def files_under(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


# ---------------------------------------------------------------------------------------------- cifar10


def test_cifar10_downloads_parses_and_caches(tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch,
                                             archive: bytes) -> None:
    serve(server, monkeypatch, archive)
    ds = load_cifar10(tmp_path)

    assert ds.name == "cifar10" and ds.classes == CLASSES
    assert ds.train_images.shape == (5 * PER_BATCH, 32, 32, 3) and ds.val_images.shape == (PER_BATCH, 32, 32, 3)
    assert ds.train_images.dtype == np.uint8 and ds.train_labels.dtype == np.int64
    images, labels = zip(*(fake_batch(b) for b in range(1, 6)), strict=True)
    np.testing.assert_array_equal(ds.train_images, np.concatenate(images))
    np.testing.assert_array_equal(ds.train_labels, np.concatenate(labels))
    np.testing.assert_array_equal(ds.val_images, fake_batch(6)[0])
    assert tuple(ds.train_images[0, 1, 2]) == (200, 100, 50)  # R, G and B planes land in the right channel
    assert tuple(ds.val_images[0, 1, 2]) == (200, 100, 50) and ds.val_labels[0] == 6
    folder = tmp_path / "cifar10"
    assert sorted(p.name for p in folder.iterdir()) == ["cifar-10-binary.tar.gz", "cifar10.npz"]
    assert server.requests == 1

    # the second load needs neither the network nor the archive
    server.stop()
    monkeypatch.setattr(cifar10, "URL", closed_port_url())
    (folder / "cifar-10-binary.tar.gz").unlink()
    again = load_cifar10(tmp_path, download=False)
    np.testing.assert_array_equal(again.train_images, ds.train_images)
    np.testing.assert_array_equal(again.val_labels, ds.val_labels)
    assert again.classes == CLASSES


def test_cifar10_uses_an_archive_put_in_the_cache_and_the_env_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  archive: bytes) -> None:
    monkeypatch.setenv("REPORTGEN_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cifar10, "URL", closed_port_url())
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(archive).hexdigest())
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "cifar-10-binary.tar.gz").write_bytes(archive)
    (tmp_path / "cifar10" / "cifar10.npz").write_bytes(b"PK\x03\x04 a broken cache")  # rebuilt, not trusted

    ds = load_cifar10(download=False)
    assert len(ds.train_images) == 5 * PER_BATCH and ds.classes == CLASSES
    assert load_cifar10().classes == CLASSES  # now from the rebuilt cache


def test_cifar10_archive_in_cache_with_wrong_md5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 archive: bytes) -> None:
    monkeypatch.setattr(cifar10, "MD5", "0" * 32)
    target = tmp_path / "cifar10" / "cifar-10-binary.tar.gz"
    target.parent.mkdir()
    target.write_bytes(archive)
    with pytest.raises(DatasetError, match="expected 0{32}") as err:
        load_cifar10(tmp_path)
    assert str(target) in str(err.value) and hashlib.md5(archive).hexdigest() in str(err.value)


def test_cifar10_checksum_mismatch_leaves_nothing(tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch,
                                                  archive: bytes) -> None:
    server.body = archive
    monkeypatch.setattr(cifar10, "MD5", "0" * 32)
    with pytest.raises(DatasetError) as err:
        load_cifar10(tmp_path)
    message = str(err.value)
    assert "expected " + "0" * 32 in message and hashlib.md5(archive).hexdigest() in message
    assert list((tmp_path / "cifar10").iterdir()) == []  # neither the archive nor a .part file


def _dotdot(tar: tarfile.TarFile) -> None:
    add_file(tar, "cifar-10-batches-bin/../../../evil", b"pwned")


def _dotdot_plain(tar: tarfile.TarFile) -> None:
    add_file(tar, "../evil", b"pwned")


def _symlink(tar: tarfile.TarFile) -> None:
    link = tarfile.TarInfo("cifar-10-batches-bin/evil")
    link.type, link.linkname = tarfile.SYMTYPE, "../../../evil"
    tar.addfile(link)


def _hardlink(tar: tarfile.TarFile) -> None:
    link = tarfile.TarInfo("cifar-10-batches-bin/evil")
    link.type, link.linkname = tarfile.LNKTYPE, "/etc/passwd"
    tar.addfile(link)


def _device(tar: tarfile.TarFile) -> None:
    dev = tarfile.TarInfo("cifar-10-batches-bin/evil")
    dev.type = tarfile.CHRTYPE
    tar.addfile(dev)


@pytest.mark.parametrize("extra", [_dotdot, _dotdot_plain, "absolute", _symlink, _hardlink, _device],
                         ids=["dotdot", "dotdot-plain", "absolute", "symlink", "hardlink", "device"])
def test_cifar10_refuses_malicious_archives(tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch,
                                            extra: Callable[[tarfile.TarFile], None] | str) -> None:
    cache = tmp_path / "deep" / "cache"
    outside = tmp_path / "evil"
    if extra == "absolute":
        def extra(tar: tarfile.TarFile) -> None:
            add_file(tar, str(outside), b"pwned")
    before = files_under(tmp_path)
    serve(server, monkeypatch, fake_archive(extra))

    with pytest.raises(DatasetError, match="refusing .*evil") as err:
        load_cifar10(cache)
    assert "\n" not in str(err.value)
    assert not outside.exists() and not (cache / "evil").exists() and not (tmp_path / "deep" / "evil").exists()
    new = files_under(tmp_path) - before
    assert new == {Path("deep"), Path("deep/cache"), Path("deep/cache/cifar10"),
                   Path("deep/cache/cifar10/cifar-10-binary.tar.gz")}  # the verified archive, nothing extracted


def test_cifar10_unreachable_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = closed_port_url()
    monkeypatch.setattr(cifar10, "URL", url)
    with pytest.raises(DatasetError) as err:
        load_cifar10(tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert url in message and str(tmp_path / "cifar10") in message
    assert "--dataset digits" in message and "--dataset synthetic" in message and "folder:PATH" in message
    assert list((tmp_path / "cifar10").iterdir()) == []  # no .part file left


def test_cifar10_http_error(tmp_path: Path, server: Server) -> None:
    server.status = 404
    with pytest.raises(DatasetError, match=r"could not be downloaded .*\(HTTP 404 .*digits"):
        load_cifar10(tmp_path)


def test_cifar10_download_false_with_empty_cache(tmp_path: Path, server: Server, archive: bytes) -> None:
    server.body = archive
    with pytest.raises(DatasetError, match="turned off.*--dataset digits"):
        load_cifar10(tmp_path, download=False)
    assert server.requests == 0


# ---------------------------------------------------------------------------------------------- folder

COLOURS = {"cat": (255, 0, 0), "dog": (0, 200, 0), "emu": (0, 0, 255)}


def solid(colour: tuple[int, int, int], size: tuple[int, int] = (20, 12)) -> Image.Image:
    return Image.new("RGB", size, colour)


def image_folder(root: Path) -> Path:
    """3 classes, 12 images: PNG, JPEG (.jpg/.JPEG), GIF and greyscale PNG, plus files to be ignored."""
    for name in ("emu", "cat", "dog"):  # created out of order: classes must come out sorted
        (root / name).mkdir(parents=True)
    for i in range(4):
        solid(COLOURS["cat"], (20 + i, 12)).save(root / "cat" / f"c{i}.png")
    for i in range(3):
        solid(COLOURS["dog"]).save(root / "dog" / f"d{i}.jpg", quality=95)
    solid(COLOURS["dog"]).save(root / "dog" / "upper.JPEG", format="JPEG", quality=95)
    for i in range(2):
        solid(COLOURS["emu"]).save(root / "emu" / f"e{i}.gif")
    (root / "emu" / "nested").mkdir()
    solid(COLOURS["emu"]).save(root / "emu" / "nested" / "e2.PNG")
    solid(COLOURS["emu"]).convert("P").save(root / "emu" / "e3.bmp")
    # ignored: hidden folder and files, non-image files
    (root / ".thumbs").mkdir()
    solid((9, 9, 9)).save(root / ".thumbs" / "t.png")
    solid((9, 9, 9)).save(root / "cat" / ".hidden.png")
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "README.md").write_text("ignored")
    return root


def test_folder_loads_classes_labels_and_split(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "pics")
    ds = load_folder(root, 16, val_fraction=0.25, seed=1)

    assert ds.classes == ("cat", "dog", "emu")
    assert ds.name == f"folder:{root}" and ds.source == f"folder {root.resolve()} (12 images, 3 classes)"
    assert ds.train_images.shape == (9, 16, 16, 3) and ds.val_images.shape == (3, 16, 16, 3)
    assert ds.train_images.dtype == np.uint8 and ds.train_labels.dtype == np.int64
    labels = np.concatenate([ds.train_labels, ds.val_labels])
    assert np.bincount(labels).tolist() == [4, 4, 4]
    for images, labels in ((ds.train_images, ds.train_labels), (ds.val_images, ds.val_labels)):
        for image, label in zip(images, labels, strict=True):
            expected = np.array(COLOURS[ds.classes[label]])
            assert np.abs(image.astype(int) - expected).max() <= 3  # JPEG is near, PNG/GIF/BMP exact

    same = load_folder(root, 16, val_fraction=0.25, seed=1)
    np.testing.assert_array_equal(same.train_images, ds.train_images)
    np.testing.assert_array_equal(same.val_labels, ds.val_labels)
    other = load_folder(root, 8, val_fraction=0.5, seed=2)
    assert other.image_size == 8 and len(other.val_images) == 6


def test_folder_greyscale_and_rgba_become_rgb(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.new("L", (5, 7), 77).save(tmp_path / "a" / "grey.png")
    Image.new("RGBA", (9, 9), (1, 2, 3, 128)).save(tmp_path / "b" / "alpha.webp", lossless=True, exact=True)
    ds = load_folder(tmp_path, 4, val_fraction=0.5, seed=0)
    everything = {int(label): image for label, image in zip(np.concatenate([ds.train_labels, ds.val_labels]),
                                                             np.concatenate([ds.train_images, ds.val_images]),
                                                             strict=True)}
    assert tuple(everything[0][0, 0]) == (77, 77, 77) and tuple(everything[1][3, 3]) == (1, 2, 3)


def _missing(root: Path) -> Path:
    return root / "nothing-here"


def _a_file(root: Path) -> Path:
    (root / "file.png").write_bytes(b"x")
    return root / "file.png"


def _empty_root(root: Path) -> Path:
    (root / ".hidden").mkdir()
    (root / "loose.png").write_bytes(b"x")
    return root


def _empty_class(root: Path) -> Path:
    image_folder(root)
    (root / "yak").mkdir()
    (root / "yak" / "readme.txt").write_text("no images")
    return root / "yak"


def _one_class(root: Path) -> Path:
    (root / "only").mkdir()
    solid((1, 2, 3)).save(root / "only" / "a.png")
    return root


def _corrupt(root: Path) -> Path:
    image_folder(root)
    (root / "dog" / "x.png").write_bytes(b"not an image")
    return root / "dog" / "x.png"


def _truncated(root: Path) -> Path:
    image_folder(root)
    data = (root / "cat" / "c0.png").read_bytes()
    (root / "cat" / "c0.png").write_bytes(data[: len(data) // 2])
    return root / "cat" / "c0.png"


@pytest.mark.parametrize(("make", "words"), [
    (_missing, "does not exist"),
    (_a_file, "is a file"),
    (_empty_root, "no class subfolders"),
    (_empty_class, "has no images"),
    (_one_class, "needs at least 2 classes"),
    (_corrupt, "cannot read image"),
    (_truncated, "cannot read image"),
], ids=["missing", "file", "empty-root", "empty-class", "one-class", "corrupt", "truncated"])
def test_folder_bad_inputs(tmp_path: Path, make: Callable[[Path], Path], words: str) -> None:
    culprit = make(tmp_path)
    target = tmp_path if make in (_empty_class, _corrupt, _truncated) else culprit
    with pytest.raises(DatasetError) as err:
        load_folder(target, 8)
    message = str(err.value)
    assert words in message and str(culprit) in message and "\n" not in message


def test_folder_too_few_images(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        solid((1, 2, 3)).save(tmp_path / name / "x.png")
    with pytest.raises(DatasetError, match=f"{tmp_path} has 2 images, too few"):
        load_folder(tmp_path, 8, val_fraction=0.9)
    assert len(load_folder(tmp_path, 8, val_fraction=0.2).train_images) == 1


# ---------------------------------------------------------------------------------------------- datasets.py


def test_load_dataset_dispatches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive: bytes) -> None:
    root = image_folder(tmp_path / "pics")
    ds = load_dataset(f"folder:{root}", image_size=12, val_fraction=0.25, seed=3)
    assert ds.name == f"folder:{root}" and ds.image_size == 12 and ds.classes == ("cat", "dog", "emu")

    monkeypatch.setattr(cifar10, "URL", closed_port_url())
    monkeypatch.setattr(cifar10, "MD5", hashlib.md5(archive).hexdigest())
    (tmp_path / "cache" / "cifar10").mkdir(parents=True)
    (tmp_path / "cache" / "cifar10" / "cifar-10-binary.tar.gz").write_bytes(archive)
    assert load_dataset("cifar10", cache_dir=tmp_path / "cache").classes == CLASSES

    with pytest.raises(DatasetError, match="unknown data set 'nope'"):
        load_dataset("nope")
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'absent'}")
