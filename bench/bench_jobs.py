"""Background jobs: GPU sharing (4 jobs together vs one alone) and page responsiveness on a CPU.

Run: python bench/bench_jobs.py [--part gpu|page|both] [--jobs 4] [--epochs 3] [--reruns 30]

gpu   On a CUDA GPU, the images/s of one DCGAN job alone (batch 128, one slot) against the
      aggregate images/s of --jobs jobs submitted together (one slot each); prints the ratio
      (target >= 2.5x). Prints "no GPU" and skips on a CPU-only machine.
page  The MNIST GAN page under AppTest: median time of a full rerun with no job, then while a
      job trains in the same process (target <= 300 ms median). Real MNIST when cached, else the
      synthetic demo digits (PLAYGROUND_SYNTHETIC_DATA=1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

from playground.data import DataUnavailable, TrainingData, load_mnist
from playground.jobs import JobManager, JobState, ManagerSettings
from playground.train import TrainSettings

ROOT = Path(__file__).resolve().parents[1]
RATIO_TARGET = 2.5
RERUN_BUDGET_S = 0.300


# ---------------------------------------------------------------------------------------------
# GPU sharing


def gpu_data() -> TrainingData:
    """MNIST's training set if cached, else 60,000 random images (speed does not depend on them)."""
    try:
        mnist = load_mnist(fetch=False)
        return TrainingData(mnist.train_images, mnist.train_labels, "MNIST train")
    except DataUnavailable:
        gen = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (60_000, 28, 28), dtype=torch.uint8, generator=gen)
        return TrainingData(images, torch.randint(0, 10, (60_000,), generator=gen), "random images")


def aggregate_images_per_s(data: TrainingData, n_jobs: int, epochs: float, runs: Path) -> float:
    """Submit n_jobs identical DCGAN jobs at once (n_jobs slots); images trained / wall time."""
    settings = ManagerSettings(
        runs_dir=runs,
        gpu_slots=n_jobs,
        max_jobs_per_owner=n_jobs,
        checkpoint_every=10_000_000,
        sample_every_s=5.0,
    )
    manager = JobManager(settings, data=lambda: data)
    try:
        spec = TrainSettings(epochs=epochs, batch_size=128, device="cuda")
        started = time.perf_counter()
        ids = [manager.submit(f"student-{i}", spec) for i in range(n_jobs)]
        while any(manager.get(f"student-{i}", job_id).is_live for i, job_id in enumerate(ids)):
            time.sleep(0.01)
        wall = time.perf_counter() - started
        done = [manager.get(f"student-{i}", job_id) for i, job_id in enumerate(ids)]
    finally:
        manager.shutdown(checkpoint=False)
    failed = [s.reason for s in done if s.state != JobState.FINISHED]
    if failed:
        raise RuntimeError(f"benchmark jobs failed: {failed}")
    return sum(s.step * s.settings.batch_size * s.settings.k_d for s in done) / wall


def bench_gpu(n_jobs: int, epochs: float) -> None:
    if not torch.cuda.is_available():
        print("gpu: no GPU on this machine (torch.cuda.is_available() is False); skipped")
        return
    data = gpu_data()
    with tempfile.TemporaryDirectory() as tmp:
        aggregate_images_per_s(data, 1, 0.2, Path(tmp) / "warmup")  # CUDA context, cuDNN plans
        alone = aggregate_images_per_s(data, 1, epochs, Path(tmp) / "alone")
        together = aggregate_images_per_s(data, n_jobs, epochs, Path(tmp) / "together")
    ratio = together / alone
    verdict = "meets" if ratio >= RATIO_TARGET else "misses"
    print(
        f"gpu: {torch.cuda.get_device_name(0)}, {data.description}, DCGAN batch 128, "
        f"{epochs:g} epochs/job"
    )
    print(f"gpu: one job alone: {alone:,.0f} images/s")
    print(f"gpu: {n_jobs} jobs together: {together:,.0f} images/s aggregate")
    print(f"gpu: ratio {ratio:.2f}x ({verdict} the {RATIO_TARGET}x target)")


# ---------------------------------------------------------------------------------------------
# Page responsiveness on a CPU


def timed_reruns(at: AppTest, n: int, pause_s: float) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        if at.exception:
            raise RuntimeError(at.exception[0].value)
        time.sleep(pause_s)
    return times


def bench_page(reruns: int) -> None:
    from playground.ui import jobs as jobs_ui

    os.environ.setdefault("PLAYGROUND_RUNS", tempfile.mkdtemp(prefix="bench-runs-"))
    try:
        load_mnist(fetch=False)
        source = "MNIST train (60,000 digits)"
    except DataUnavailable:
        os.environ["PLAYGROUND_SYNTHETIC_DATA"] = "1"
        source = "synthetic demo digits"
    at = AppTest.from_file(str(ROOT / "playground" / "Home.py"), default_timeout=120)
    at.run()
    at.switch_page("../pages/mnist_gan.py")
    started = time.perf_counter()
    at.run()
    first = time.perf_counter() - started
    idle = timed_reruns(at, reruns, 0.1)

    next(n for n in at.number_input if n.label == "epochs").set_value(20.0)
    next(b for b in at.button if b.label == "Train").click()
    at.run()
    manager = jobs_ui.job_manager()
    threads = manager.settings.cpu_threads
    owner = f"session:{at.session_state['owner.session_id']}"
    (job,) = manager.list(owner)
    while manager.get(owner, job.job_id).step < 1:
        time.sleep(0.1)
    step_before = manager.get(owner, job.job_id).step
    busy = timed_reruns(at, reruns, 0.1)
    after = manager.get(owner, job.job_id)
    manager.stop(owner, job.job_id)
    jobs_ui.job_manager.clear()  # shuts the workers down

    median = statistics.median(busy)
    verdict = "meets" if median <= RERUN_BUDGET_S else "misses"
    print(
        f"page: CPU, {os.cpu_count()} cores, training threads "
        f"{threads or torch.get_num_threads()}, job data: {source}"
    )
    shipped = [m for m in ("dcgan", "cgan") if (jobs_ui.MODELS_DIR / f"{m}.safetensors").exists()]
    print(
        f"page: first render of the MNIST page {first * 1000:.0f} ms "
        f"(shipped generators present: {', '.join(shipped) or 'none'})"
    )
    print(f"page: rerun with no job: median {statistics.median(idle) * 1000:.0f} ms over {reruns}")
    print(
        f"page: rerun while a job trains: median {median * 1000:.0f} ms, p90 "
        f"{sorted(busy)[int(0.9 * (len(busy) - 1))] * 1000:.0f} ms over {reruns} "
        f"({verdict} the {RERUN_BUDGET_S * 1000:.0f} ms budget)"
    )
    print(
        f"page: meanwhile the job trained from step {step_before} to {after.step} "
        f"({after.state}, {after.images_per_s:,.0f} images/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("gpu", "page", "both"), default="both")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--reruns", type=int, default=30)
    args = parser.parse_args()
    if args.part in ("gpu", "both"):
        bench_gpu(args.jobs, args.epochs)
    if args.part in ("page", "both"):
        bench_page(args.reruns)


if __name__ == "__main__":
    main()
