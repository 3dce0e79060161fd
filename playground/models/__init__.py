"""Networks for 28x28 MNIST digits: the course DCGAN, its conditional variant, the VAE, the metric
classifier."""

from playground.models.classifier import DigitClassifier
from playground.models.dcgan import (
    IMAGE_SHAPE,
    NUM_CLASSES,
    ConditionalDiscriminator,
    ConditionalGenerator,
    Discriminator,
    Generator,
    weights_init,
)
from playground.models.vae import VAE, VAEConfig, VAEConfigError, VAESampler, vae_init

__all__ = [
    "IMAGE_SHAPE",
    "NUM_CLASSES",
    "ConditionalDiscriminator",
    "ConditionalGenerator",
    "DigitClassifier",
    "Discriminator",
    "Generator",
    "VAE",
    "VAEConfig",
    "VAEConfigError",
    "VAESampler",
    "vae_init",
    "weights_init",
]
