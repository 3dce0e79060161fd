"""The one MNIST training engine: the course DCGAN or cGAN, fast on a GPU, plain on a CPU, and the
VAE beside them.

    settings     TrainSettings, VAESettings (checked by playground.settings), the device
    batches      MnistBatches (the seeded gan.BatchSource), StaticBatches (CUDA-graph buffers)
    cuda_graph   CudaGraphStep: one iteration captured as a CUDA graph; when it is tried
    networks     G, D and the VAE, seeded or empty (for loading), and their optimizers
    sampling     generate, draw_samples, a run's fixed noise
    run          what both trainers share: counters, the run's description, saving, resuming
    gan_trainer  Trainer (d_step, g_step, step, run through gan.GANStepper), load_generator
    vae_trainer  VAETrainer (step, run on the negative ELBO), load_vae
    cli          `python -m playground.train`: train a shipped model, keep its best epoch

The public names are re-exported here: `from playground.train import Trainer, TrainSettings`.
"""

from playground.train.batches import MnistBatches, StaticBatches, TrainingDataError, prepare_labels
from playground.train.cuda_graph import CudaGraphStep, cuda_graph_decision, state_fingerprint
from playground.train.gan_trainer import (
    GAN_TRAINING_KIND,
    GENERATOR_KIND,
    Trainer,
    checkpoint_settings,
    load_generator,
)
from playground.train.networks import (
    build_discriminator,
    build_generator,
    build_models,
    build_optimizers,
    build_vae,
    memory_format_for,
)
from playground.train.run import CheckpointedRun, Progress
from playground.train.sampling import draw_samples, fixed_noise, generate
from playground.train.settings import (
    AE_MODEL,
    AUTOENCODER_MODELS,
    CLI_MODELS,
    DEVICES,
    MODELS,
    VAE_MODEL,
    SettingsError,
    TrainSettings,
    VAESettings,
    resolve_device,
)
from playground.train.vae_trainer import (
    VAE_TRAINING_KIND,
    VAEStepRecord,
    VAETrainer,
    load_vae,
    vae_checkpoint_settings,
)

__all__ = [
    "AE_MODEL",
    "AUTOENCODER_MODELS",
    "CLI_MODELS",
    "DEVICES",
    "GAN_TRAINING_KIND",
    "GENERATOR_KIND",
    "MODELS",
    "VAE_MODEL",
    "VAE_TRAINING_KIND",
    "CheckpointedRun",
    "CudaGraphStep",
    "MnistBatches",
    "Progress",
    "SettingsError",
    "StaticBatches",
    "TrainSettings",
    "Trainer",
    "TrainingDataError",
    "VAESettings",
    "VAEStepRecord",
    "VAETrainer",
    "build_discriminator",
    "build_generator",
    "build_models",
    "build_optimizers",
    "build_vae",
    "checkpoint_settings",
    "cuda_graph_decision",
    "draw_samples",
    "fixed_noise",
    "generate",
    "load_generator",
    "load_vae",
    "memory_format_for",
    "prepare_labels",
    "resolve_device",
    "state_fingerprint",
    "vae_checkpoint_settings",
]
