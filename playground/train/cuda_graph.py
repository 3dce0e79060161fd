"""The CUDA-graph fast path: one training iteration (k_d D updates and one G update, optimizer
steps included) captured once and replayed.

The captured body is GANStepper's own d_update / g_update, so the maths is the eager maths. No
random number is drawn inside the graph: before each replay the batch indices and the noise are
drawn from the seeded source into static buffers (`StaticBatches`), in the order eager steps draw
them. `cuda_graph_decision` says when the path is tried at all.
"""

from __future__ import annotations

import torch
from torch import Tensor

from playground.gan import GANStepper
from playground.train.batches import MnistBatches, StaticBatches
from playground.tricks import Tricks

WARMUP_ITERATIONS = 3
"""Eager iterations on the capture stream before a CUDA graph is captured (PyTorch's recipe)."""


def cuda_graph_decision(
    device: torch.device, enabled: bool = True, tricks: Tricks | None = None
) -> str | None:
    """None when the CUDA-graph fast path can be tried on `device`, else why the loop stays eager."""
    if device.type != "cuda":
        return f"{device.type} device: eager loop (CUDA graphs need a CUDA GPU)"
    if not enabled:
        return "CUDA graph turned off by the caller: eager loop"
    if tricks is not None and tricks.draws_noise:
        # A graph replays the numbers it was captured with: no fresh noise, no annealing.
        return "instance noise or WGAN-GP draw fresh random numbers every step: eager loop"
    if not torch.cuda.is_available():
        return "CUDA is not available: eager loop"
    return None


class CudaGraphStep:
    """One training iteration (k_d D updates + one G update, optimizer steps included) as one graph.

    Built as in PyTorch's whole-network capture recipe: warm-up iterations on a side stream, grads
    set to None, then capture on that same stream. The captured body is GANStepper's own
    d_update/g_update on a stepper that reads the static buffers. Capture uses the thread-local
    error mode, because other jobs' threads in this process keep using CUDA meanwhile.
    """

    def __init__(self, stepper: GANStepper, source: MnistBatches, k_d: int) -> None:
        self.batches = StaticBatches(source, k_d)
        self.body_stepper = GANStepper(
            stepper.generator,
            stepper.discriminator,
            stepper.g_opt,
            stepper.d_opt,
            self.batches,
            stepper.g_loss,
            tricks=stepper.tricks,
            rng=stepper.rng,
        )
        self.k_d = k_d
        self.device = source.device
        self.stream: torch.cuda.Stream | None = None
        self.warmup_left = WARMUP_ITERATIONS
        self.graph: torch.cuda.CUDAGraph | None = None
        self.stats: Tensor | None = None
        self.fingerprint = state_fingerprint(stepper)

    def body(self) -> Tensor:
        """[d_update stats (6), g_update stats (3)] of one iteration, as one tensor."""
        self.batches.rewind()
        return self.body_stepper.iteration(self.k_d)

    def eager_iteration(self) -> Tensor:
        """One real training iteration through the static buffers, run eagerly (no graph)."""
        self.batches.refill()
        return self.body()

    def warm_up(self, iterations: int) -> Tensor:
        """Run `iterations` real training iterations eagerly on the capture stream."""
        if self.stream is None:
            self.stream = torch.cuda.Stream(device=self.device)
        current = torch.cuda.current_stream(self.device)
        self.stream.wait_stream(current)
        with torch.cuda.stream(self.stream):
            for _ in range(iterations):
                stats = self.eager_iteration()
        current.wait_stream(self.stream)
        self.warmup_left -= iterations
        return stats

    def capture(self) -> None:
        """Record one iteration; nothing runs (and no state changes) until replay()."""
        assert self.stream is not None, "warm up before capturing"
        # Grads set to None so that backward() allocates them from the graph's private pool.
        self.body_stepper.g_opt.zero_grad(set_to_none=True)
        self.body_stepper.d_opt.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=self.stream, capture_error_mode="thread_local"):
            stats = self.body()
        self.graph, self.stats = graph, stats

    def replay(self, iterations: int) -> Tensor:
        """Refill the buffers from the seeded source and replay, `iterations` times (no sync)."""
        assert self.graph is not None and self.stats is not None
        for _ in range(iterations):
            self.batches.refill()
            self.graph.replay()
        return self.stats


def state_fingerprint(stepper: GANStepper) -> tuple[int, ...]:
    """Addresses of every tensor a captured graph reads; they change when a state is swapped in.

    Loading weights copies in place, but optimizer.load_state_dict() (a rewind, a restore)
    replaces the moment tensors, and a graph would keep updating the old ones.
    """
    tensors: list[Tensor] = []
    for network in (stepper.generator, stepper.discriminator):
        tensors += [*network.parameters(), *network.buffers()]
    for optimizer in (stepper.g_opt, stepper.d_opt):
        for state in optimizer.state.values():
            tensors += [v for v in state.values() if isinstance(v, Tensor)]
    return tuple(t.data_ptr() for t in tensors)
