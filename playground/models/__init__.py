"""Networks: for 28x28 MNIST digits the course DCGAN, its conditional variant, the VAE and the metric
classifier; for the toy worlds (the 1-D GAN, the ring of modes) tiny seeded MLPs."""

from playground.models.classifier import DigitClassifier
from playground.models.dcgan import (
    ABLATIONS,
    IMAGE_SHAPE,
    NO_ABLATION,
    NUM_CLASSES,
    ConditionalDiscriminator,
    ConditionalGenerator,
    Discriminator,
    FullyConnectedGenerator,
    Generator,
    ablate_discriminator,
    ablate_generator,
    weights_init,
)
from playground.models.mlp import mlp, seeded_linear
from playground.models.tricks import MinibatchStdDev, add_spectral_norm, minibatch_std
from playground.models.vae import VAE, VAEConfig, VAEConfigError, VAESampler, vae_init

__all__ = [
    "ABLATIONS",
    "IMAGE_SHAPE",
    "NO_ABLATION",
    "NUM_CLASSES",
    "ConditionalDiscriminator",
    "ConditionalGenerator",
    "DigitClassifier",
    "Discriminator",
    "FullyConnectedGenerator",
    "Generator",
    "MinibatchStdDev",
    "VAE",
    "VAEConfig",
    "VAEConfigError",
    "VAESampler",
    "ablate_discriminator",
    "ablate_generator",
    "add_spectral_norm",
    "minibatch_std",
    "mlp",
    "seeded_linear",
    "vae_init",
    "weights_init",
]
