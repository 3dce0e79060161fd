"""The training command line: train a shipped model, keep its best checkpoint by FID, record it.

`python -m playground.train dcgan|cgan|vae|ae --out FILE ...` trains with the options given (the
model's defaults for the rest), scores every few epochs with the shipped metric classifier, keeps
the best (or the last) epoch's checkpoint and writes the run into trained_models/manifest.json:
the exact command, seed, device, wall time, per-epoch scores and the loss history. `--ablation`
breaks one DCGAN rule (models.dcgan.ABLATIONS); `--save generator` keeps G's weights alone (a
small file to sample and score, not to resume). `--rescore` scores a kept file again.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, TextIO

import torch
from torch import Tensor, nn

from playground.checkpoints import (
    Checkpoint,
    CheckpointError,
    device_name,
    file_sha256,
    from_bytes,
    library_versions,
    load_checkpoint,
    save_checkpoint,
    update_manifest,
)
from playground.data import DataUnavailable, load_mnist
from playground.gan import HistoryPoint, StepRecord
from playground.losses import G_LOSSES
from playground.metrics import DEFAULT_CLASSIFIER_PATH, DEFAULT_SAMPLES, Evaluator, load_evaluator
from playground.models import ABLATIONS, NO_ABLATION, VAESampler
from playground.seeds import EVAL_NOISE_STREAM, stream_seed
from playground.train.batches import TrainingDataError
from playground.train.gan_trainer import GAN_TRAINING_KIND, Trainer, load_generator
from playground.train.sampling import draw_samples
from playground.train.settings import (
    AUTOENCODER_MODELS,
    CLI_MODELS,
    SettingsError,
    TrainSettings,
    VAESettings,
    resolve_device,
)
from playground.train.vae_trainer import VAE_TRAINING_KIND, VAEStepRecord, VAETrainer, load_vae


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = TrainSettings()
    parser = argparse.ArgumentParser(
        prog="python -m playground.train",
        description=(
            "Train the course DCGAN, cGAN, VAE or plain autoencoder (ae) on MNIST; keep the "
            "checkpoint with the best FID. "
            "Options left out take the model's defaults."
        ),
    )
    parser.add_argument("model", choices=CLI_MODELS)
    parser.add_argument("--epochs", type=float, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--lr-g", type=float, default=None, help="GANs")
    parser.add_argument("--lr-d", type=float, default=None, help="GANs")
    parser.add_argument("--lr", type=float, default=None, help="VAE")
    parser.add_argument("--beta1", type=float, default=None)
    parser.add_argument("--beta2", type=float, default=None)
    parser.add_argument("--z-dim", type=int, default=None)
    parser.add_argument("--hidden", type=int, default=None, help="VAE: width of its dense layer")
    parser.add_argument("--g-loss", choices=G_LOSSES, default=None, help="GANs")
    parser.add_argument("--k-d", type=int, default=None, help="GANs")
    parser.add_argument("--ablation", choices=ABLATIONS, help="GANs: the DCGAN rule to break")
    parser.add_argument("--device", default=defaults.device)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--eval-every-epochs", type=int, default=1, help="0: never evaluate")
    parser.add_argument("--eval-samples", type=int, default=DEFAULT_SAMPLES)
    parser.add_argument("--keep", choices=("best-fid", "last"), default="best-fid")
    saved = "GANs: the full training state (resumable), or G's weights alone (to sample, score)"
    parser.add_argument("--save", choices=("full", "generator"), default="full", help=saved)
    parser.add_argument(
        "--min-label-accuracy",
        type=float,
        default=None,
        help="cgan, with --keep best-fid: prefer epochs whose digits match their labels this often",
    )
    parser.add_argument("--manifest", type=Path, default=None, help="default: next to --out")
    parser.add_argument("--name", default=None, help="manifest entry (default: the model name)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument(
        "--resume-from",
        type=Path,
        default=None,
        help="continue a saved run (e.g. with lower learning rates) up to --epochs in total",
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="do not train: score the checkpoint at --out with the current metric classifier",
    )
    return parser.parse_args(argv)


GAN_ONLY_OPTIONS = ("lr_g", "lr_d", "g_loss", "k_d", "ablation")
VAE_ONLY_OPTIONS = ("lr", "hidden")


def _settings_from_args(args: argparse.Namespace) -> TrainSettings | VAESettings:
    """The model's settings class filled from the options given, its defaults for the rest."""
    vae = args.model in AUTOENCODER_MODELS
    cls, alien = (VAESettings, GAN_ONLY_OPTIONS) if vae else (TrainSettings, VAE_ONLY_OPTIONS)
    given = sorted(name for name in alien if getattr(args, name) is not None)
    if given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise SettingsError(f"the {args.model} does not take {options}")
    values = {
        f.name: getattr(args, f.name)
        for f in fields(cls)
        if getattr(args, f.name, None) is not None
    }
    settings = cls(**values)
    settings.validate()
    return settings


def reproduce_command(args: argparse.Namespace) -> str:
    """The exact command line that rebuilds the file, every training option spelled out."""
    s = _settings_from_args(args)
    if isinstance(s, VAESettings):
        return _reproduce_vae_command(args, s)
    words = ["python", "-m", "playground.train", s.model, "--epochs", f"{s.epochs:g}"]
    words += ["--batch-size", str(s.batch_size), "--seed", str(s.seed)]
    words += ["--lr-g", f"{s.lr_g:g}", "--lr-d", f"{s.lr_d:g}"]
    words += ["--beta1", f"{s.beta1:g}", "--beta2", f"{s.beta2:g}", "--z-dim", str(s.z_dim)]
    words += ["--g-loss", s.g_loss, "--k-d", str(s.k_d), "--device", s.device]
    if s.ablation != NO_ABLATION:
        words += ["--ablation", s.ablation]
    words += ["--eval-every-epochs", str(args.eval_every_epochs)]
    words += ["--eval-samples", str(args.eval_samples), "--keep", args.keep]
    if args.save != "full":
        words += ["--save", args.save]
    if args.min_label_accuracy is not None:
        words += ["--min-label-accuracy", f"{args.min_label_accuracy:g}"]
    if args.threads is not None:
        words += ["--threads", str(args.threads)]
    if args.resume_from is not None:
        words += ["--resume-from", str(args.resume_from)]
    # Without --name the command would write another model's manifest entry.
    words += ["--name", args.name] if getattr(args, "name", None) else []
    words += ["--out", str(args.out)]
    return shlex.join(words)


def _reproduce_vae_command(args: argparse.Namespace, s: VAESettings) -> str:
    words = ["python", "-m", "playground.train", s.model, "--epochs", f"{s.epochs:g}"]
    words += ["--batch-size", str(s.batch_size), "--seed", str(s.seed), "--lr", f"{s.lr:g}"]
    words += ["--beta1", f"{s.beta1:g}", "--beta2", f"{s.beta2:g}", "--z-dim", str(s.z_dim)]
    words += ["--hidden", str(s.hidden), "--device", s.device]
    words += ["--eval-every-epochs", str(args.eval_every_epochs)]
    words += ["--eval-samples", str(args.eval_samples), "--keep", args.keep]
    if args.threads is not None:
        words += ["--threads", str(args.threads)]
    words += ["--name", args.name] if getattr(args, "name", None) else []
    words += ["--out", str(args.out)]
    return shlex.join(words)


class ProgressLine:
    """A plain-text progress bar: redrawn in place on a terminal, one line per update in a log."""

    def __init__(
        self, total_epochs: int, steps_per_epoch: int, stream: TextIO | None = None
    ) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.total_epochs = total_epochs
        self.steps_per_epoch = steps_per_epoch
        self.started = time.perf_counter()

    def update(
        self,
        epoch: int,
        step_in_epoch: int,
        record: StepRecord | VAEStepRecord,
        images_per_s: float,
    ) -> None:
        share = step_in_epoch / self.steps_per_epoch
        bar = "#" * round(20 * share) + "-" * (20 - round(20 * share))
        elapsed = time.perf_counter() - self.started
        text = (
            f"epoch {epoch:>3}/{self.total_epochs} [{bar}] {share:4.0%} {_losses_text(record)} "
            f"{images_per_s:6.0f} img/s  {elapsed / 60:5.1f} min"
        )
        self.stream.write(("\r" + text) if self.tty else (text + "\n"))
        self.stream.flush()

    def message(self, text: str) -> None:
        self.stream.write(("\n" if self.tty else "") + text + "\n")
        self.stream.flush()


def _losses_text(record: StepRecord | VAEStepRecord) -> str:
    if isinstance(record, VAEStepRecord) and not record.variational:
        return f"reconstruction {record.reconstruction:.1f} (an autoencoder: no KL term)"
    if isinstance(record, VAEStepRecord):
        return (
            f"-ELBO {record.loss:.1f} = reconstruction {record.reconstruction:.1f} "
            f"+ KL {record.kl:.1f}"
        )
    return (
        f"d_loss {record.d_loss:.3f} g_loss {record.g_loss:.3f} "
        f"D(x) {record.d_real:.2f} D(G(z)) {record.d_fake:.2f}"
    )


def _train_command(args: argparse.Namespace) -> int:
    """Train, evaluate every few epochs, keep the best (or last) checkpoint, update the manifest."""
    settings = _settings_from_args(args)
    _check_label_floor(args, settings)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    mnist = load_mnist(args.data_root, fetch=False)
    evaluator = load_evaluator() if args.eval_every_epochs else None
    classifier_sha256 = None if evaluator is None else file_sha256(DEFAULT_CLASSIFIER_PATH)
    started = time.perf_counter()
    trainer, kept, earlier = _start(args, settings, mnist.train_images, mnist.train_labels)
    epochs = math.ceil(trainer.total_iterations / trainer.steps_per_epoch)
    bar = ProgressLine(epochs, trainer.steps_per_epoch)
    bar.message(_start_line(settings, trainer))
    first_epoch = trainer.iteration // trainer.steps_per_epoch + 1
    history = [h for h in earlier.get("history", []) if h.get("epoch", 0) < first_epoch]
    losses: list[HistoryPoint] = []
    for epoch in range(first_epoch, epochs + 1):
        if not _train_epoch(trainer, epoch, bar, losses, started):
            return 1
        last = epoch == epochs
        if evaluator is None or (epoch % args.eval_every_epochs and not last):
            if evaluator is None and last:
                _keep(trainer, args, None)
            continue
        seconds = time.perf_counter() - started
        metrics = _epoch_metrics(trainer, evaluator, settings, args.eval_samples, epoch, seconds)
        history.append(metrics)
        if args.keep == "last" or kept is None or _better(metrics, kept, args.min_label_accuracy):
            _keep(trainer, args, metrics)
            kept = metrics
        bar.message(_metrics_line(metrics) + ("  <- kept" if kept is metrics else ""))
    wall = time.perf_counter() - started
    entry = _manifest_record(args, settings, trainer, kept, history, wall, classifier_sha256)
    if losses:
        entry["losses"] = loss_columns(losses)
    if args.resume_from is not None:
        entry["resumed_from"] = {k: earlier.get(k) for k in ("command", "epoch_kept", "metrics")}
    manifest = update_manifest(_manifest_path(args), args.name or settings.model, entry)
    bar.message(f"done in {wall / 60:.1f} min; wrote {args.out} and {manifest}")
    return 0


def _check_label_floor(args: argparse.Namespace, settings: TrainSettings | VAESettings) -> None:
    floor = args.min_label_accuracy
    if floor is not None and not (
        settings.model == "cgan" and args.keep == "best-fid" and 0.0 <= floor <= 1.0
    ):
        raise SettingsError(
            f"--min-label-accuracy must be in [0, 1] and needs cgan with --keep best-fid, got {floor}"
        )


def _start_line(settings: TrainSettings | VAESettings, trainer: Trainer | VAETrainer) -> str:
    return (
        f"{settings.model} on {device_name(trainer.device)}: {trainer.total_iterations} iterations, "
        f"{trainer.steps_per_epoch}/epoch; fast path: {trainer.fast_path}"
        + (f" ({trainer.fallback_reason})" if trainer.fallback_reason else "")
    )


def _epoch_metrics(
    trainer: Trainer | VAETrainer,
    evaluator: Evaluator,
    settings: TrainSettings | VAESettings,
    samples: int,
    epoch: int,
    seconds: float,
) -> dict[str, Any]:
    """The scores of the model at the end of `epoch`, `seconds` into the run."""
    return {
        "epoch": epoch,
        "iteration": trainer.iteration,
        "wall_time_s": round(seconds, 1),
        **_sample_metrics(_sampler(trainer), evaluator, settings, samples),
    }


def _manifest_record(
    args: argparse.Namespace,
    settings: TrainSettings | VAESettings,
    trainer: Trainer | VAETrainer,
    kept: dict[str, Any] | None,
    history: list[dict[str, Any]],
    wall: float,
    classifier_sha256: str | None,
) -> dict[str, Any]:
    """The manifest entry of a finished run: how to repeat it, what it cost, the scores of the
    epoch it kept and of every scored epoch."""
    return {
        "file": args.out.name,
        "kind": VAE_TRAINING_KIND if isinstance(trainer, VAETrainer) else GAN_TRAINING_KIND,
        "model": settings.model,
        "command": reproduce_command(args),
        "seed": settings.seed,
        "epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "settings": settings.to_dict(),
        "device": device_name(trainer.device),
        "fast_path": trainer.fast_path,
        "wall_time_s": round(wall, 1),
        "keep": args.keep,
        "min_label_accuracy": args.min_label_accuracy,
        "epoch_kept": None if kept is None else kept.get("epoch"),
        "metrics": kept,
        "history": history,
        "classifier_sha256": classifier_sha256,
        "versions": library_versions(),
        "bytes": args.out.stat().st_size,
    }


def _better(
    metrics: dict[str, Any], kept: dict[str, Any], min_label_accuracy: float | None
) -> bool:
    """Is this epoch better than the kept one? Lower FID, but an epoch whose label accuracy
    reaches the floor (when one is set) beats any epoch below it."""

    def rank(m: dict[str, Any]) -> tuple[bool, float]:
        below = (
            min_label_accuracy is not None and (m.get("label_accuracy") or 0.0) < min_label_accuracy
        )
        return below, m["fid"]

    return rank(metrics) < rank(kept)


def _start(
    args: argparse.Namespace,
    settings: TrainSettings | VAESettings,
    images: Tensor,
    labels: Tensor,
) -> tuple[Trainer | VAETrainer, dict[str, Any] | None, dict[str, Any]]:
    """A fresh Trainer (VAETrainer for the VAE), or the run saved at --resume-from retuned to
    `settings` (GANs only).

    Also returns the metrics of the checkpoint to beat (a resumed run only replaces its file
    with a better epoch) and the manifest entry of the run it continues.
    """
    if isinstance(settings, VAESettings):
        if args.resume_from is not None:
            raise SettingsError(f"--resume-from continues GAN runs only, not the {settings.model}")
        return VAETrainer(settings, images, labels), None, {}
    if args.resume_from is None:
        return Trainer(settings, images, labels), None, {}
    trainer = Trainer.load(args.resume_from, images, labels, device=resolve_device(settings.device))
    trainer.retune(settings)
    if trainer.done:
        raise SettingsError(
            f"nothing left to train: {args.resume_from.name} is already at epoch "
            f"{trainer.epoch:g} (iteration {trainer.iteration}) and --epochs asks for "
            f"{settings.epochs:g}; ask for more epochs to continue it"
        )
    metrics = load_checkpoint(args.resume_from).metadata.get("metrics") or {}
    earlier = _manifest_entry(_manifest_path(args), args.name or settings.model)
    return trainer, _metrics_to_beat(metrics), earlier


def _metrics_to_beat(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """The resumed file's metrics when they hold an FID to compare with (a run saved without
    evaluation has none: then its first evaluated epoch is kept)."""
    fid = metrics.get("fid")
    return metrics if isinstance(fid, int | float) and math.isfinite(fid) else None


LOSS_POINTS_PER_EPOCH = 20
"""A GAN run's loss history keeps the losses of one iteration this many times an epoch."""


def _train_epoch(
    trainer: Trainer | VAETrainer,
    epoch: int,
    bar: ProgressLine,
    losses: list[HistoryPoint],
    started: float,
) -> bool:
    """Train to the end of `epoch` in twentieths, redrawing the bar and keeping a GAN's losses at
    each; False when training diverged."""
    end = min(epoch * trainer.steps_per_epoch, trainer.total_iterations)
    chunk = max(1, trainer.steps_per_epoch // LOSS_POINTS_PER_EPOCH)
    while trainer.iteration < end:
        record = trainer.run(min(chunk, end - trainer.iteration))
        if not record.is_finite():
            bar.message(f"training diverged at iteration {trainer.iteration}: {record}")
            return False
        if isinstance(record, StepRecord):
            seconds = time.perf_counter() - started
            losses.append(
                HistoryPoint.from_record(record, trainer.iteration, trainer.epoch, seconds)
            )
        step_in_epoch = trainer.iteration - (epoch - 1) * trainer.steps_per_epoch
        bar.update(epoch, step_in_epoch, record, trainer.images_per_s)
    return True


LOSS_COLUMNS = ("step", "epoch", "d_loss", "g_loss", "d_real", "d_fake")


def loss_columns(points: list[HistoryPoint]) -> dict[str, list[float]]:
    """A loss history as the manifest keeps it: one list per column (rounded to 5 digits)."""
    return {name: [round(float(getattr(p, name)), 5) for p in points] for name in LOSS_COLUMNS}


def _keep(trainer: Trainer | VAETrainer, args: argparse.Namespace, metrics: dict | None) -> None:
    """Write the kept epoch to --out: the full training state, or (--save generator) G's
    weights, settings and metrics alone."""
    if args.save == "full" or isinstance(trainer, VAETrainer):
        trainer.save(args.out, metrics=metrics)
        return
    generator_only = from_bytes(trainer.generator_checkpoint())
    metadata = {**generator_only.metadata, "metrics": dict(metrics or {})}
    save_checkpoint(args.out, Checkpoint(tensors=generator_only.tensors, metadata=metadata))


def _sampler(trainer: Trainer | VAETrainer) -> nn.Module:
    """What turns noise into digits: G for a GAN, the decoder (VAESampler) for the VAE."""
    return trainer.sampler if isinstance(trainer, VAETrainer) else trainer.stepper.generator


def _sample_metrics(
    generator: nn.Module, evaluator: Evaluator, settings: TrainSettings | VAESettings, n: int
) -> dict[str, Any]:
    """Metrics of n samples from the run's evaluation noise (the same z at every epoch)."""
    images, labels = draw_samples(generator, n, stream_seed(settings.seed, EVAL_NOISE_STREAM))
    return evaluator.evaluate(images, labels).as_dict()


def _rescore_command(args: argparse.Namespace) -> int:
    """Score the kept checkpoint at --out with the current metric classifier; update the manifest.

    For when the classifier file was rebuilt after training: the entry's metrics and
    classifier_sha256 are replaced; the per-epoch history keeps the classifier it was made with.
    """
    if args.model in AUTOENCODER_MODELS:
        vae, settings, meta = load_vae(args.out)
        generator: nn.Module = VAESampler(vae)
    else:
        generator, settings, meta = load_generator(args.out)
    if settings.model != args.model:
        raise CheckpointError(f"{args.out.name} holds a {settings.model}, not a {args.model}")
    evaluator = load_evaluator()
    sha256 = file_sha256(DEFAULT_CLASSIFIER_PATH)
    metrics = {
        "epoch": (meta.get("metrics") or {}).get("epoch"),
        "iteration": meta.get("step"),
        **_sample_metrics(generator, evaluator, settings, args.eval_samples),
    }
    name = args.name or settings.model
    entry = _manifest_entry(_manifest_path(args), name)
    previous = entry.get("classifier_sha256")
    if previous is not None and previous != sha256:
        entry.setdefault("history_classifier_sha256", previous)
    entry.update(
        metrics=metrics,
        classifier_sha256=sha256,
        rescore_command=shlex.join(
            ["python", "-m", "playground.train", args.model, "--rescore"]
            + ["--eval-samples", str(args.eval_samples), "--out", str(args.out)]
        ),
    )
    update_manifest(_manifest_path(args), name, entry)
    print(_metrics_line(metrics))
    return 0


def _manifest_path(args: argparse.Namespace) -> Path:
    return args.manifest or args.out.parent / "manifest.json"


def _manifest_entry(manifest: Path, name: str) -> dict[str, Any]:
    if not manifest.exists():
        return {}
    entry = json.loads(manifest.read_text()).get("models", {}).get(name, {})
    return dict(entry) if isinstance(entry, dict) else {}


def _metrics_line(m: dict[str, Any]) -> str:
    line = (
        f"epoch {m['epoch']}: FID {m['fid']:.2f}  IS {m['inception_score']:.2f}  "
        f"classes {m['classes_covered']}  largest {m['largest_class_fraction']:.2f}  "
        f"precision {m['precision']:.2f}  recall {m['recall']:.2f}"
    )
    if m.get("label_accuracy") is not None:
        line += f"  label accuracy {m['label_accuracy']:.3f}"
    return line


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        return _rescore_command(args) if args.rescore else _train_command(args)
    except CheckpointError as exc:  # its reason may quote a library's multi-line error
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except (SettingsError, TrainingDataError, DataUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
