"""`python -m playground.compare`: the measures that see blur, rebuilt from the command line.

features  train the deep feature network on MNIST and embed the real test digits (the file
          trained_models/deep_features.safetensors and its manifest entry)
score     score the shipped VAE and DCGAN and the real test digits with every measure, old
          and new (the manifest entry "vae_vs_gan" the VAE vs GAN page shows)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import time
from pathlib import Path
from typing import Any

import torch

from playground.checkpoints import device_name, file_sha256, update_manifest
from playground.compare.recorded import SCORES_ENTRY, scored_files
from playground.compare.scores import COMPARED, SCORE_SAMPLES, SCORE_SEED, score_models
from playground.data import Mnist, load_mnist
from playground.metrics import (
    DEFAULT_CLASSIFIER_PATH,
    ClassifierSettings,
    build_reference,
    classifier_accuracy,
    load_evaluator,
    save_classifier,
    train_classifier,
)
from playground.metrics.classifier_training import heldout_split
from playground.metrics.deep_features import (
    DEEP_FEATURES_KIND,
    DEFAULT_DEEP_FEATURES_PATH,
    DeepEvaluator,
    load_deep_evaluator,
)
from playground.metrics.sharpness import laplacian_variance
from playground.models.deep_classifier import DeepDigitClassifier
from playground.pixels import uint8_to_model
from playground.shipped import load

DEEP_FEATURES_EPOCHS = 3


def _train_subset(mnist: Mnist, size: int) -> Mnist:
    """The first `size` training digits (0: all): tiny runs for tests."""
    if size <= 0:
        return mnist
    return dataclasses.replace(
        mnist, train_images=mnist.train_images[:size], train_labels=mnist.train_labels[:size]
    )


def _features_command(args: argparse.Namespace) -> int:
    settings = ClassifierSettings(
        epochs=args.epochs,
        seed=args.seed,
        reference_size=args.reference_size,
        heldout_size=args.reference_size,
    ).validate()
    torch.set_num_threads(args.threads)
    device, out = torch.device(args.device), Path(args.out)
    mnist = _train_subset(load_mnist(args.data_root, fetch=False), args.train_size)
    started = time.perf_counter()
    network = train_classifier(mnist, settings, device, print, network=DeepDigitClassifier)
    accuracy = classifier_accuracy(network, mnist.test_images, mnist.test_labels, device)
    reference = build_reference(network, mnist, settings, device)
    heldout, _ = heldout_split(len(mnist.test_labels), settings)
    sharpness = laplacian_variance(uint8_to_model(mnist.test_images[heldout]).add(1).div(2))
    record = {
        "command": _features_words(args),
        "seed": settings.seed,
        "epochs": settings.epochs,
        "device": device_name(device),
        "wall_time_s": round(time.perf_counter() - started, 1),
        "torch_version": torch.__version__,
    }
    real_row = DeepEvaluator(network.cpu(), reference, sharpness).reference_scores().as_dict()
    metadata = {
        **record,
        "settings": dataclasses.asdict(settings),
        "metrics": {"test_accuracy": accuracy, "reference": real_row},
    }
    parts = {"sharpness": {"heldout": sharpness.float()}}
    save_classifier(out, network, reference, metadata, DEEP_FEATURES_KIND, parts)
    entry = {
        "file": out.name,
        "kind": DEEP_FEATURES_KIND,
        **record,
        "test_accuracy": round(accuracy, 4),
        "reference_scores": real_row,
        "bytes": out.stat().st_size,
        "sha256": file_sha256(out),
    }
    update_manifest(args.manifest or out.parent / "manifest.json", "deep_features", entry)
    print(f"test accuracy {accuracy:.4f}; wrote {out}; real row {json.dumps(real_row)}")
    return 0


def _features_words(args: argparse.Namespace) -> str:
    words = ["python", "-m", "playground.compare", "features", "--epochs", str(args.epochs)]
    words += ["--seed", str(args.seed), "--threads", str(args.threads), "--device", args.device]
    if args.train_size:
        words += ["--train-size", str(args.train_size)]
    words += ["--reference-size", str(args.reference_size), "--out", str(args.out)]
    return shlex.join(words)


def _score_command(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    classifier = load_evaluator(DEFAULT_CLASSIFIER_PATH)
    deep = load_deep_evaluator(DEFAULT_DEEP_FEATURES_PATH)
    samplers = {name: load(name).sampler for name in COMPARED}
    rows = score_models(samplers, classifier, deep, args.samples, args.seed)
    words = ["python", "-m", "playground.compare", "score", "--samples", str(args.samples)]
    words += ["--seed", str(args.seed), "--threads", str(args.threads)]
    entry: dict[str, Any] = {
        "kind": "comparison",
        "command": shlex.join(words),
        "seed": args.seed,
        "samples": args.samples,
        "device": device_name(torch.device("cpu")),
        "wall_time_s": round(time.perf_counter() - started, 1),
        "rows": {name: row.as_dict() for name, row in rows.items()},
        "sha256": {name: file_sha256(path) for name, path in scored_files().items()},
    }
    manifest = args.manifest or DEFAULT_DEEP_FEATURES_PATH.parent / "manifest.json"
    update_manifest(manifest, SCORES_ENTRY, entry)
    print(json.dumps(entry["rows"], indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground.compare")
    commands = parser.add_subparsers(dest="command", required=True)
    features = commands.add_parser("features", help="train the deep feature network + reference")
    features.add_argument("--epochs", type=int, default=DEEP_FEATURES_EPOCHS)
    features.add_argument("--seed", type=int, default=0)
    features.add_argument("--threads", type=int, default=1)
    features.add_argument("--device", default="cpu")
    features.add_argument("--train-size", type=int, default=0, help="0: every training digit")
    features.add_argument("--reference-size", type=int, default=ClassifierSettings.reference_size)
    features.add_argument("--out", type=Path, default=DEFAULT_DEEP_FEATURES_PATH)
    features.add_argument("--manifest", type=Path, default=None)
    features.add_argument("--data-root", type=Path, default=None)
    score = commands.add_parser("score", help="score the shipped VAE and DCGAN, old and new")
    score.add_argument("--samples", type=int, default=SCORE_SAMPLES)
    score.add_argument("--seed", type=int, default=SCORE_SEED)
    score.add_argument("--threads", type=int, default=1)
    score.add_argument("--manifest", type=Path, default=None)
    args = parser.parse_args(argv)
    return _features_command(args) if args.command == "features" else _score_command(args)
