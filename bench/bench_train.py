"""Training speed: the engine (playground.train.Trainer) against the plain PyTorch loop, same run.

Run: python bench/bench_train.py [--model dcgan|cgan] [--iterations 30] [--rounds 3]
                                 [--device auto|cpu|cuda] [--threads N]

Both train the course network (batch 128, fp32, Adam lr 2e-4, betas (0.5, 0.999), one D and one
G update per batch) on MNIST's training set when it is cached, else on 60,000 random images
(speed does not depend on the pixels; the output says which). The plain loop is written like
pytorch/examples dcgan: TensorDataset + DataLoader(shuffle=True), each batch moved to the device,
(1) D on real (label 1) and on fake.detach() (label 0), (2) G (label 1) on those same fakes, BCE
on D's logits, and no per-step `.item()` (which would only slow the plain loop down on a GPU).
The engine does the same work per iteration (GANStepper also updates G through the fakes of
its last D update). Rounds alternate plain / engine, so a busy machine slows both alike; the
median of each is reported. Targets: >= 6x on a GPU (DESIGN.md), >= 1.0x on a CPU.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from playground.data import DataUnavailable, load_mnist
from playground.pixels import uint8_to_model
from playground.train import Trainer, TrainSettings, build_models

BATCH = 128
TARGET = {"cuda": 6.0, "cpu": 1.0}


def training_data() -> tuple[Tensor, Tensor, str]:
    """MNIST's 60,000 training digits if cached, else as many random images."""
    try:
        mnist = load_mnist(fetch=False)
        return mnist.train_images, mnist.train_labels, "MNIST train (60,000 digits)"
    except DataUnavailable:
        gen = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (60_000, 28, 28), dtype=torch.uint8, generator=gen)
        labels = torch.randint(0, 10, (60_000,), generator=gen)
        return images, labels, "synthetic: 60,000 random images (MNIST not cached)"


def plain_loop(
    settings: TrainSettings, images: Tensor, labels: Tensor, device: torch.device
) -> Callable[[int], None]:
    """pytorch/examples-style training; returns run(n) that trains n batches."""
    netG, netD = build_models(settings)
    netG, netD = netG.to(device), netD.to(device)
    conditional = settings.conditional
    betas = (settings.beta1, settings.beta2)
    optimizerD = torch.optim.Adam(netD.parameters(), lr=settings.lr_d, betas=betas)
    optimizerG = torch.optim.Adam(netG.parameters(), lr=settings.lr_g, betas=betas)
    criterion = nn.BCEWithLogitsLoss()
    loader = DataLoader(TensorDataset(uint8_to_model(images), labels), BATCH, shuffle=True)
    batches: Iterator = iter(loader)

    def call(net: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        return net(x, y) if conditional else net(x)

    def run(n: int) -> None:
        nonlocal batches
        for _ in range(n):
            try:
                real_cpu, real_labels = next(batches)
            except StopIteration:
                batches = iter(loader)
                real_cpu, real_labels = next(batches)
            real, real_labels = real_cpu.to(device), real_labels.to(device)
            b = real.size(0)
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            label = torch.full((b,), 1.0, device=device)
            errD_real = criterion(call(netD, real, real_labels), label)
            errD_real.backward()
            noise = torch.randn(b, settings.z_dim, device=device)
            fake_labels = torch.randint(0, 10, (b,), device=device)
            fake = call(netG, noise, fake_labels)
            label.fill_(0.0)
            errD_fake = criterion(call(netD, fake.detach(), fake_labels), label)
            errD_fake.backward()
            optimizerD.step()
            # (2) Update G network: maximize log(D(G(z)))
            netG.zero_grad()
            label.fill_(1.0)
            errG = criterion(call(netD, fake, fake_labels), label)
            errG.backward()
            optimizerG.step()

    return run


def timed(run: Callable[[int], None], n: int, device: torch.device) -> float:
    """Images per second of run(n) (waiting for the GPU before and after)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    run(n)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return n * BATCH / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("dcgan", "cgan"), default="dcgan")
    parser.add_argument("--iterations", type=int, default=30, help="timed batches per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    images, labels, data_name = training_data()
    settings = TrainSettings(model=args.model, batch_size=BATCH, device=args.device, epochs=100)
    engine = Trainer(settings, images, labels)
    device = engine.device
    plain = plain_loop(settings, images, labels, device)
    warmup = 5 if device.type == "cpu" else 20  # the engine's first GPU calls warm up and capture
    plain(warmup), engine.run(warmup)

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {where}, {torch.get_num_threads()} CPU threads | data: {data_name}")
    print(
        f"model: {args.model}, batch {BATCH}, fp32, {args.iterations} timed batches x {args.rounds} rounds"
    )
    print(f"engine path: {'CUDA graph' if engine.fast_path else engine.fallback_reason}")
    print(f"{'round':>5}  {'plain img/s':>12}  {'engine img/s':>12}  {'ratio':>6}")
    plain_rates, engine_rates = [], []
    for i in range(args.rounds):
        plain_rates.append(timed(plain, args.iterations, device))
        engine_rates.append(timed(engine.run, args.iterations, device))
        ratio = engine_rates[-1] / plain_rates[-1]
        print(f"{i + 1:>5}  {plain_rates[-1]:12.0f}  {engine_rates[-1]:12.0f}  {ratio:5.2f}x")
    p, e = statistics.median(plain_rates), statistics.median(engine_rates)
    print(
        f"median: plain {p:.0f} img/s ({60_000 / p:.1f} s/epoch) | engine {e:.0f} img/s "
        f"({60_000 / e:.1f} s/epoch) | engine/plain {e / p:.2f}x "
        f"(target >= {TARGET[device.type]:.1f}x on {device.type})"
    )


if __name__ == "__main__":
    main()
