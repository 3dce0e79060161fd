"""The GPU path on a real GPU (`pytest -m cuda`; skipped where torch sees no CUDA device).

Run by `bench/gpu_check.sh` on a training machine that has torch, numpy and safetensors only:
nothing here imports Streamlit, plotly or pandas.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from playground.jobs import JobManager, JobState, ManagerSettings
from playground.train import Trainer, TrainSettings, load_generator
from playground.train.cuda_graph import WARMUP_ITERATIONS
from tests.unit.job_doubles import tiny_data

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

GPU_REL = 1e-4
GPU_ABS = 1e-5
"""Two GPU runs of the same float32 maths: with cuDNN's deterministic algorithms both pick the
same kernels, yet a captured graph may still sum in another order than the eager launch
(e.g. cuBLAS workspace splits), which moves float32 results by a few ulps per step; after a
handful of Adam steps that stays far below 1e-4 relative. A wrong graph (a stale buffer, a
skipped optimizer step) moves the weights by about lr = 2e-4 per step: caught."""


@pytest.fixture(autouse=True)
def _deterministic_cudnn() -> Iterator[None]:
    before = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before


def settings(**changes) -> TrainSettings:
    return TrainSettings(**{"batch_size": 32, "epochs": 2, "device": "cuda", **changes})


def assert_close_states(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (key, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        if x.is_floating_point():
            torch.testing.assert_close(x, y, rtol=GPU_REL, atol=GPU_ABS, msg=key)
        else:
            assert torch.equal(x, y), key


@pytest.mark.parametrize("model", ["dcgan", "cgan"])
def test_the_cuda_graph_run_equals_the_eager_run_for_the_first_steps(model: str) -> None:
    data = tiny_data()
    graph = Trainer(settings(model=model), data.images, data.labels, cuda_graph=True)
    eager = Trainer(settings(model=model), data.images, data.labels, cuda_graph=False)
    assert graph.fast_path and not eager.fast_path
    steps = WARMUP_ITERATIONS + 4  # the eager warm-up, the capture, then replays
    for _ in range(steps):
        fast_record, eager_record = graph.run(1), eager.run(1)
        assert fast_record.d_loss == pytest.approx(eager_record.d_loss, rel=GPU_REL)
        assert fast_record.g_loss == pytest.approx(eager_record.g_loss, rel=GPU_REL)
    assert graph.fast_path and graph._graph is not None and graph._graph.graph is not None
    assert graph.iteration == eager.iteration == steps
    assert_close_states(graph.stepper.generator, eager.stepper.generator)
    assert_close_states(graph.stepper.discriminator, eager.stepper.discriminator)


def test_a_checkpoint_round_trip_on_cuda(tmp_path: Path) -> None:
    data = tiny_data()
    straight = Trainer(settings(epochs=4), data.images, data.labels)
    straight.run(6), straight.run(4)
    first = Trainer(settings(epochs=4), data.images, data.labels)
    first.run(6)
    path = first.save(tmp_path / "run.safetensors")
    resumed = Trainer.load(path, data.images, data.labels)
    assert resumed.device.type == "cuda" and resumed.iteration == 6
    assert_close_states(first.stepper.generator, resumed.stepper.generator)
    resumed.run(4)  # captures its own graph from the restored state
    assert_close_states(straight.stepper.generator, resumed.stepper.generator)
    on_cpu = Trainer.load(path, data.images, data.labels, device="cpu")
    for (key, x), y in zip(
        first.stepper.generator.state_dict().items(),
        on_cpu.stepper.generator.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(x.cpu(), y), key
    generator, loaded_settings, meta = load_generator(first.generator_checkpoint())
    assert loaded_settings.device == "cuda" and meta["step"] == 6


class StreamRecordingTrainer(Trainer):
    """The real trainer, noting the CUDA stream each run() is issued on (threads executor)."""

    streams: set[tuple[int, int]] = set()

    def run(self, iterations: int):
        stream = torch.cuda.current_stream(self.device)
        StreamRecordingTrainer.streams.add((self.settings.seed, stream.cuda_stream))
        return super().run(iterations)


def wait_all_ended(manager: JobManager, jobs: list[tuple[str, str]], timeout: float = 240):
    deadline = time.monotonic() + timeout
    while any(manager.get(owner, job_id).is_live for owner, job_id in jobs):
        assert time.monotonic() < deadline, [manager.get(o, j) for o, j in jobs]
        time.sleep(0.05)
    return [manager.get(owner, job_id) for owner, job_id in jobs]


def test_four_slots_on_one_gpu_each_train_on_their_own_stream(tmp_path: Path) -> None:
    StreamRecordingTrainer.streams = set()
    manager = JobManager(
        ManagerSettings(
            runs_dir=tmp_path, gpu_slots=4, max_jobs_per_owner=4, executor="threads", chunk_s=0.05
        ),
        data=tiny_data,
        trainer_class=StreamRecordingTrainer,
    )
    try:
        jobs = [("alice", manager.submit("alice", settings(epochs=20, seed=s))) for s in range(4)]
        done = wait_all_ended(manager, jobs)
    finally:
        manager.shutdown(checkpoint=False)
    assert all(s.state == JobState.FINISHED for s in done), [s.reason for s in done]
    assert {s.device for s in done} == {"cuda:0"}
    streams = {stream for _, stream in StreamRecordingTrainer.streams}
    seeds = {seed for seed, _ in StreamRecordingTrainer.streams}
    assert seeds == {0, 1, 2, 3} and len(streams) == 4  # one stream per slot
    assert 0 not in streams  # never the default stream, which would serialize them


def test_a_job_on_the_local_executor_trains_on_the_gpu(tmp_path: Path) -> None:
    manager = JobManager(
        ManagerSettings(runs_dir=tmp_path, gpu_slots=1, executor="local", chunk_s=0.05),
        data=tiny_data,
    )
    try:
        job_id = manager.submit("alice", settings(epochs=4))
        (done,) = wait_all_ended(manager, [("alice", job_id)])
        download = manager.generator_checkpoint("alice", job_id)
    finally:
        manager.shutdown(checkpoint=False)
    assert done.state == JobState.FINISHED, done.reason
    assert done.device == "cuda:0" and done.step == done.total_steps == 4 * 4
    generator, _, meta = load_generator(download)
    assert meta["step"] == done.step
    assert all(torch.isfinite(w).all() for w in generator.state_dict().values())
