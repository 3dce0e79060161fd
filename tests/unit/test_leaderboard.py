"""The class leaderboard: finished jobs published under a display name, ranked by the model's
metric, withdrawn only by their owner, kept on disk, and never crashed by a crafted file."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from playground.data import TrainingData
from playground.jobs import JobManager, JobSnapshot, JobState, ManagerSettings, owner_key
from playground.jobs.leaderboard import (
    MAX_NAME_CHARS,
    MAX_SAMPLES,
    NAME_PUNCTUATION,
    Entry,
    Leaderboard,
    LeaderboardError,
    checked_display_name,
)
from playground.train import TrainSettings

SAMPLES = np.arange(64 * 28 * 28, dtype=np.uint64).reshape(64, 28, 28).astype(np.uint8)


def snapshot(
    job_id: str = "0a1b2c3d",
    model: str = "dcgan",
    metrics: Mapping[str, float] | None = None,
    state: JobState = JobState.FINISHED,
    samples: np.ndarray | None = SAMPLES,
    step: int = 120,
) -> JobSnapshot:
    """What JobManager.get returns for a job (its fields as a finished job's snapshot has them)."""
    if metrics is None:
        metrics = {"fid": 50.0} if model == "dcgan" else {"fid": 60.0, "label_accuracy": 0.5}
    return JobSnapshot(
        job_id=job_id,
        state=state,
        settings=TrainSettings(model=model, epochs=1.0, batch_size=32),
        position=None,
        reason="",
        device="cpu",
        step=step,
        total_steps=step,
        epoch=1.0,
        images_per_s=0.0,
        eta_s=None,
        d_real=None,
        d_fake=None,
        history=(),
        samples=samples,
        samples_step=step,
        metrics=metrics,
        metrics_step=step,
        checkpoint_step=step,
        created_at=0.0,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "leaderboard"


@pytest.fixture
def board(folder: Path) -> Leaderboard:
    return Leaderboard(folder)


def fid_job(job_id: str, fid: float) -> JobSnapshot:
    return snapshot(job_id, "dcgan", {"fid": fid})


def accuracy_job(job_id: str, accuracy: float) -> JobSnapshot:
    return snapshot(job_id, "cgan", {"fid": 10.0, "label_accuracy": accuracy})


# ---------------------------------------------------------------------------------------------
# Publishing and ranking


def test_dcgan_entries_rank_by_fid_lowest_first_and_cgan_by_label_accuracy_highest_first(
    board: Leaderboard,
) -> None:
    board.publish("alice", fid_job("a1", 80.0), "Alice")
    board.publish("bob", fid_job("b1", 35.5), "Bob")
    board.publish("carol", fid_job("c1", 50.0), "Carol")
    board.publish("alice", accuracy_job("a2", 0.61), "Alice")
    board.publish("bob", accuracy_job("b2", 0.93), "Bob")
    assert [(e.display_name, e.metric_value) for e in board.entries("dcgan")] == [
        ("Bob", 35.5),
        ("Carol", 50.0),
        ("Alice", 80.0),
    ]
    cgan = board.entries("cgan")
    assert [(e.display_name, e.metric_name, e.metric_value) for e in cgan] == [
        ("Bob", "label_accuracy", 0.93),
        ("Alice", "label_accuracy", 0.61),
    ]  # ranked by label accuracy, although Alice's FID (10) equals Bob's


def test_equal_scores_rank_the_earlier_publication_first(board: Leaderboard) -> None:
    board.publish("alice", fid_job("a1", 40.0), "first")
    board.publish("bob", fid_job("b1", 40.0), "second")
    assert [e.display_name for e in board.entries("dcgan")] == ["first", "second"]


def test_an_entry_copies_the_jobs_score_step_and_samples_and_names_the_owner_only_by_key(
    board: Leaderboard,
) -> None:
    job = snapshot("0a1b2c3d", "dcgan", {"fid": 42.25, "inception_score": 7.0}, step=469)
    entry = board.publish("session:alice", job, "  Zoë_M-1.  ")
    assert entry.display_name == "Zoë_M-1."  # stripped, otherwise as typed
    assert (entry.model, entry.metric_name, entry.metric_value, entry.step) == (
        "dcgan",
        "fid",
        42.25,
        469,
    )
    assert entry.owner_key == owner_key("session:alice") and "alice" not in entry.owner_key
    assert np.array_equal(entry.samples, SAMPLES) and entry.samples is not SAMPLES
    assert not entry.samples.flags.writeable
    assert len(entry.entry_id) == 16 and entry.published_at == pytest.approx(time.time(), abs=60)


def test_publishing_the_same_job_again_replaces_its_entry_under_the_new_name(
    board: Leaderboard,
) -> None:
    first = board.publish("alice", fid_job("a1", 40.0), "Alice")
    again = board.publish("alice", fid_job("a1", 40.0), "Alice L")
    assert again.entry_id == first.entry_id
    assert [e.display_name for e in board.entries("dcgan")] == ["Alice L"]
    assert board.display_name(owner_key("alice")) == "Alice L"


def test_display_name_is_the_name_last_published_under_while_an_entry_is_up(
    board: Leaderboard,
) -> None:
    assert board.display_name(owner_key("alice")) is None
    older = board.publish("alice", fid_job("a1", 40.0), "Ally")
    board.publish("alice", accuracy_job("a2", 0.5), "Alice")
    board.publish("bob", fid_job("b1", 40.0), "Bob")
    assert board.display_name(owner_key("alice")) == "Alice"
    assert board.display_name(owner_key("bob")) == "Bob"
    for entry in board.mine("alice"):
        board.withdraw("alice", entry.entry_id)
    assert board.display_name(owner_key("alice")) is None
    assert older.display_name == "Ally"


# ---------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize(
    "state", [s for s in JobState if s != JobState.FINISHED], ids=lambda s: str(s)
)
def test_only_a_finished_job_can_be_published(board: Leaderboard, state: JobState) -> None:
    with pytest.raises(LeaderboardError, match=f"job 0a1b2c3d is {state}: only a finished job"):
        board.publish("alice", snapshot(state=state), "Alice")
    assert board.entries("dcgan") == []


@pytest.mark.parametrize(
    ("model", "metrics", "label"),
    [
        ("dcgan", {}, "FID"),
        ("dcgan", {"fid": float("nan")}, "FID"),
        ("dcgan", {"fid": float("inf")}, "FID"),
        ("cgan", {"fid": 30.0}, "label accuracy"),  # a cGAN ranks by label accuracy, not FID
    ],
)
def test_a_job_without_its_ranking_score_is_refused_naming_the_score(
    board: Leaderboard, model: str, metrics: dict[str, float], label: str
) -> None:
    with pytest.raises(LeaderboardError, match=f"has no {label} score, so it cannot be ranked"):
        board.publish("alice", snapshot(model=model, metrics=metrics), "Alice")


def test_a_job_without_samples_is_refused(board: Leaderboard) -> None:
    with pytest.raises(LeaderboardError, match="has no samples to show"):
        board.publish("alice", snapshot(samples=None), "Alice")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "this one has 0"),
        ("   ", "this one has 0"),
        ("x" * (MAX_NAME_CHARS + 1), f"this one has {MAX_NAME_CHARS + 1}"),
        ("<b>Bob</b>", "'/<>' is not allowed"),
        ("**Bob**", "'*' is not allowed"),
        ("Bob\x00", "'\\x00' is not allowed"),
        ("Bob\tSmith", "'\\t' is not allowed"),
        ("Bob\nis #1", "'\\n#' is not allowed"),
        ("evil\u202egnp", "'\\u202e' is not allowed"),  # right-to-left override
        ("in\u200bvisible", "'\\u200b' is not allowed"),  # zero-width space
    ],
)
def test_a_bad_display_name_is_refused_saying_what_is_allowed(
    board: Leaderboard, name: str, problem: str
) -> None:
    with pytest.raises(LeaderboardError) as refused:
        board.publish("alice", fid_job("a1", 40.0), name)
    message = str(refused.value)
    assert "letters, digits, spaces and the marks . _ - only" in message
    assert problem in message
    assert board.entries("dcgan") == []


@given(st.text(max_size=40))
@example("Ana María 2")
@example("a\u0301")  # decomposed á: composed (NFC) before it is checked
def test_any_text_is_either_a_clean_display_name_or_refused_with_a_message(text: str) -> None:
    try:
        name = checked_display_name(text)
    except LeaderboardError as refused:
        assert "letters, digits, spaces" in str(refused)
        return
    assert name == unicodedata.normalize("NFC", text).strip()
    assert 1 <= len(name) <= MAX_NAME_CHARS
    assert all(c.isalpha() or c.isdecimal() or c in NAME_PUNCTUATION for c in name)


@given(st.text(st.sampled_from("abcXYZ019 ._-éß"), min_size=1, max_size=MAX_NAME_CHARS))
def test_every_name_of_allowed_characters_is_accepted(text: str) -> None:
    if text.strip():
        assert checked_display_name(text) == text.strip()


def test_an_owner_may_hold_max_per_owner_entries_and_may_still_rename_one(folder: Path) -> None:
    board = Leaderboard(folder, max_per_owner=2)
    board.publish("alice", fid_job("a1", 40.0), "Alice")
    board.publish("alice", accuracy_job("a2", 0.5), "Alice")
    with pytest.raises(LeaderboardError, match="you already have 2 entries on the leaderboard"):
        board.publish("alice", fid_job("a3", 30.0), "Alice")
    board.publish("alice", fid_job("a1", 40.0), "Alice again")  # a replacement takes no room
    board.publish("bob", fid_job("b1", 45.0), "Bob")  # the cap is per owner
    assert len(board.mine("alice")) == 2 and len(board.mine("bob")) == 1


def test_a_full_board_refuses_new_entries_until_one_is_withdrawn(folder: Path) -> None:
    board = Leaderboard(folder, max_entries=2)
    board.publish("alice", fid_job("a1", 40.0), "Alice")
    bob = board.publish("bob", fid_job("b1", 45.0), "Bob")
    with pytest.raises(LeaderboardError, match=r"the leaderboard is full \(2 entries\)"):
        board.publish("carol", fid_job("c1", 20.0), "Carol")
    board.withdraw("bob", bob.entry_id)
    board.publish("carol", fid_job("c1", 20.0), "Carol")
    assert [e.display_name for e in board.entries("dcgan")] == ["Carol", "Alice"]


def test_concurrent_publishers_never_overfill_the_board(folder: Path) -> None:
    board = Leaderboard(folder, max_entries=5)
    refused: list[LeaderboardError] = []

    def publish(owner: str) -> None:
        try:
            board.publish(owner, fid_job("j1", 40.0), owner)
        except LeaderboardError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=publish, args=(f"owner{i}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(board.entries("dcgan")) == 5 and len(refused) == 7
    assert len(list(folder.glob("*.json"))) == 5


def test_an_unknown_model_has_no_board(board: Leaderboard) -> None:
    with pytest.raises(LeaderboardError, match="only DCGAN and cGAN jobs have a leaderboard"):
        board.entries("vae")


# ---------------------------------------------------------------------------------------------
# Owners


def test_another_owner_can_neither_withdraw_nor_list_an_entry(board: Leaderboard) -> None:
    alices = board.publish("alice", fid_job("a1", 40.0), "Alice")
    bobs = board.publish("bob", fid_job("b1", 45.0), "Bob")
    with pytest.raises(LeaderboardError) as not_his:
        board.withdraw("bob", alices.entry_id)
    with pytest.raises(LeaderboardError) as missing:
        board.withdraw("bob", "0" * 16)
    # Another owner's entry is answered exactly like a missing one.
    assert str(not_his.value) == str(missing.value).replace("0" * 16, alices.entry_id)
    assert [e.entry_id for e in board.mine("bob")] == [bobs.entry_id]
    assert [e.entry_id for e in board.mine("carol")] == []
    assert len(board.entries("dcgan")) == 2  # still there for everyone

    board.withdraw("alice", alices.entry_id)
    assert [e.display_name for e in board.entries("dcgan")] == ["Bob"]
    with pytest.raises(LeaderboardError, match="there is no entry"):
        board.withdraw("alice", alices.entry_id)


# ---------------------------------------------------------------------------------------------
# On disk


def test_entries_survive_a_restart_and_a_withdrawal_is_gone_for_good(folder: Path) -> None:
    board = Leaderboard(folder)
    kept = board.publish("alice", fid_job("a1", 40.0), "Alice")
    gone = board.publish("bob", accuracy_job("b1", 0.7), "Bob")
    board.withdraw("bob", gone.entry_id)
    again = Leaderboard(folder)
    (loaded,) = again.entries("dcgan")
    assert loaded == kept and np.array_equal(loaded.samples, kept.samples)
    assert again.entries("cgan") == [] and again.mine("bob") == []
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{kept.entry_id}.json",
        f"{kept.entry_id}.npy",
    ]
    again.withdraw("alice", kept.entry_id)  # its owner still owns it after the restart


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


class Detonator:
    """Unpickling this runs code: a loader that unpickles it fails the test."""

    def __reduce__(self):
        return (pytest.fail, ("a pickle in a leaderboard file was loaded",))


def npy_header(shape: tuple[int, ...]) -> bytes:
    """A .npy header claiming a uint8 array of `shape`, with no data after it."""
    buffer = io.BytesIO()
    header = {"descr": "|u1", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def crafted_entries(good: Entry) -> dict[str, tuple[dict | bytes, bytes | None]]:
    """name -> (changed JSON fields, or the whole JSON file; .npy bytes or None), each entry
    broken in one way."""
    samples = npy_bytes(good.samples)
    return {
        "garbage": (b"\xff\xfe not json", samples),
        "list": (b"[1, 2, 3]", samples),
        "deep": (b"[" * 5000 + b"]" * 5000, samples),
        "no_samples": ({}, None),
        "pickled": ({}, npy_bytes(np.array([Detonator()], dtype=object), allow_pickle=True)),
        "floats": ({}, npy_bytes(good.samples.astype(np.float32))),
        "wrong_shape": ({}, npy_bytes(np.zeros((4, 32, 32), np.uint8))),
        "too_many": ({}, npy_bytes(np.zeros((MAX_SAMPLES + 1, 28, 28), np.uint8))),
        "claims_a_terabyte": ({}, npy_header((10**9, 28, 28))),
        "truncated": ({}, samples[:200]),
        "other_id": ({"entry_id": "0123456789abcdef"}, samples),
        "markup_name": ({"display_name": "<script>x</script>"}, samples),
        "text_score": ({"metric_value": "NaN"}, samples),
        "infinite_score": ({"metric_value": float("inf")}, samples),
        "bool_step": ({"step": True}, samples),
        "other_metric": ({"metric_name": "inception_score"}, samples),
        "unknown_model": ({"model": "vae"}, samples),
        "bad_owner": ({"owner_key": "../../etc"}, samples),
        "future_format": ({"format": 2}, samples),
    }


def test_a_corrupt_or_crafted_entry_is_skipped_with_a_log_line_and_the_rest_load(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = Leaderboard(folder).publish("alice", fid_job("a1", 40.0), "Alice")
    crafted = crafted_entries(good)
    for i, (text, npy) in enumerate(crafted.values()):
        entry_id = f"{i:016x}"
        if isinstance(text, dict):
            text = json.dumps({**good.to_json(), "entry_id": entry_id, **text}).encode()
        (folder / f"{entry_id}.json").write_bytes(text)
        if npy is not None:
            (folder / f"{entry_id}.npy").write_bytes(npy)
    (folder / "ffffffffffffffff.json").symlink_to("/dev/zero")  # never read whole
    with caplog.at_level(logging.WARNING, logger="playground.jobs.leaderboard"):
        board = Leaderboard(folder)
    assert board.entries("dcgan") == [good]
    skipped = [r for r in caplog.records if "skipping unreadable entry" in r.getMessage()]
    assert len(skipped) == len(crafted) + 1


# ---------------------------------------------------------------------------------------------
# With a real job


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[JobManager]:
    """A JobManager on 64 random digits whose evaluator scores every job FID 33."""
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (64, 28, 28), dtype=torch.uint8, generator=gen)
    data = TrainingData(images, torch.randint(0, 10, (64,), generator=gen), "64 random images")
    settings = ManagerSettings(
        runs_dir=tmp_path / "runs", gpu_slots=1, chunk_s=0.05, executor="threads"
    )  # in-process: its data and evaluator are lambdas
    manager = JobManager(settings, data=lambda: data, evaluator=lambda device: FixedScores())
    yield manager
    manager.shutdown(checkpoint=False, timeout=30)


class FixedScores:
    def evaluate(self, images: torch.Tensor, labels: torch.Tensor | None = None):
        return type("Scores", (), {"as_dict": lambda self: {"fid": 33.0}})()


@pytest.mark.slow
def test_a_real_finished_job_is_published_through_the_managers_owner_check(
    manager: JobManager,
) -> None:
    job_id = manager.submit("alice", TrainSettings(epochs=0.5, batch_size=32, device="cpu"))
    with pytest.raises(LeaderboardError):  # still queued or running
        Leaderboard(manager.settings.runs_dir / "leaderboard").publish(
            "alice", manager.get("alice", job_id), "Alice"
        )
    deadline = time.monotonic() + 60
    while manager.get("alice", job_id).is_live:
        assert time.monotonic() < deadline, "the job never finished"
        time.sleep(0.05)
    board = Leaderboard(manager.settings.runs_dir / "leaderboard")
    entry = board.publish("alice", manager.get("alice", job_id), "Alice")
    assert (entry.metric_value, entry.step) == (33.0, manager.get("alice", job_id).step)
    assert entry.samples.shape == (64, 28, 28)
    assert [j.job_id for j in manager.list("alice")] == [job_id]  # the board is not a job
