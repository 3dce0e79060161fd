"""`python -m playground.metrics`: train-classifier rebuilds the shipped metric classifier and its
reference statistics; reference prints the real-data row of a classifier file."""

from __future__ import annotations

import argparse
import json
import math
import shlex
import time
from dataclasses import asdict
from pathlib import Path

import torch

from playground.checkpoints import device_name, file_sha256, update_manifest
from playground.data import load_mnist
from playground.metrics.classifier_training import (
    ClassifierSettings,
    build_reference,
    classifier_accuracy,
    save_classifier,
    train_classifier,
)
from playground.metrics.evaluator import (
    CLASSIFIER_KIND,
    DEFAULT_CLASSIFIER_PATH,
    Evaluator,
    load_evaluator,
)


def _train_command(args: argparse.Namespace) -> int:
    settings = ClassifierSettings(epochs=args.epochs, seed=args.seed).validate()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    out = Path(args.out)
    mnist = load_mnist(args.data_root, fetch=False)
    started = time.perf_counter()
    classifier = train_classifier(mnist, settings, device, progress=print)
    accuracy = classifier_accuracy(classifier, mnist.test_images, mnist.test_labels, device)
    reference = build_reference(classifier, mnist, settings, device)
    record = {
        "command": _reproduce_command(args),
        "seed": settings.seed,
        "epochs": settings.epochs,
        "device": device_name(device),
        "wall_time_s": round(time.perf_counter() - started, 1),
        "torch_version": torch.__version__,
    }
    real_row = Evaluator(classifier, reference, device).reference_metrics().as_dict()
    steps = settings.epochs * math.ceil(len(mnist.train_labels) / settings.batch_size)
    metadata = {
        **record,
        "settings": asdict(settings),
        "step": steps,
        "metrics": {"test_accuracy": accuracy, "reference": real_row},
    }
    save_classifier(out, classifier, reference, metadata)
    entry = {
        "file": out.name,
        "kind": CLASSIFIER_KIND,
        **record,
        "test_accuracy": round(accuracy, 4),
        "reference_metrics": real_row,
        "bytes": out.stat().st_size,
        "sha256": file_sha256(out),
    }
    manifest = update_manifest(args.manifest or out.parent / "manifest.json", "classifier", entry)
    print(
        f"test accuracy {accuracy:.4f}; wrote {out} ({out.stat().st_size / 2**20:.1f} MiB), {manifest}"
    )
    print("real data row:", json.dumps(real_row))
    return 0


def _reproduce_command(args: argparse.Namespace) -> str:
    """The exact command line that rebuilds this file, every option spelled out."""
    words = ["python", "-m", "playground.metrics", "train-classifier"]
    words += ["--epochs", str(args.epochs), "--seed", str(args.seed)]
    words += ["--threads", str(args.threads), "--device", args.device, "--out", str(args.out)]
    return shlex.join(words)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground.metrics")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train-classifier", help="train the metric classifier + reference")
    train.add_argument("--epochs", type=int, default=ClassifierSettings.epochs)
    train.add_argument("--seed", type=int, default=ClassifierSettings.seed)
    train.add_argument("--threads", type=int, default=2)
    train.add_argument("--device", default="cpu")
    train.add_argument("--out", type=Path, default=DEFAULT_CLASSIFIER_PATH)
    train.add_argument("--manifest", type=Path, default=None)
    train.add_argument("--data-root", type=Path, default=None)
    show = commands.add_parser("reference", help="print the real-data row of a classifier file")
    show.add_argument("--path", type=Path, default=DEFAULT_CLASSIFIER_PATH)
    args = parser.parse_args(argv)
    if args.command == "train-classifier":
        return _train_command(args)
    evaluator = load_evaluator(args.path)
    print(
        json.dumps(
            {"test_accuracy": evaluator.test_accuracy, **evaluator.reference_metrics().as_dict()}
        )
    )
    return 0
