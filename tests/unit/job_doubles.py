"""What the job tests train on, and trainers that fail on purpose.

Module-level functions and classes only: the local and Ray executors send them to worker
processes pickled (by name), and a worker process imports this module to find them. Imports stay
light (no plotly, no Streamlit) so that a worker starts fast.
"""

from __future__ import annotations

import os
import signal
import time

import torch

from playground.data import TrainingData
from playground.train import Trainer, TrainSettings

STEPS_PER_EPOCH = 8  # 128 images // batch 16


def tiny_data() -> TrainingData:
    """128 random 28 × 28 images (seeded: every process makes the same ones)."""
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (128, 28, 28), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 10, (128,), generator=gen)
    return TrainingData(images, labels, "128 random images")


def spec(epochs: float = 1.0, seed: int = 0, model: str = "dcgan") -> TrainSettings:
    return TrainSettings(model=model, epochs=epochs, batch_size=16, seed=seed, device="cpu")


class FaultyTrainer(Trainer):
    """The real trainer, failing on purpose by seed once 4 steps are done: 1 raises, 2 diverges,
    3 runs out of memory. In a worker process or a Ray actor only: 7 is killed by SIGKILL (as by
    the out-of-memory killer), 8 calls os.abort() (as a crash in native code), 9 hangs."""

    def run(self, iterations: int):
        if self.iteration >= 4:
            self._fail_by_seed(self.settings.seed)
        return super().run(iterations)

    def _fail_by_seed(self, seed: int) -> None:
        if seed == 1:
            raise RuntimeError("boom")
        if seed == 2:
            with torch.no_grad():
                for p in self.stepper.generator.parameters():
                    p.fill_(float("nan"))
        if seed == 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if seed == 7:
            os.kill(os.getpid(), signal.SIGKILL)
        if seed == 8:
            os.abort()
        if seed == 9:
            time.sleep(3600)
