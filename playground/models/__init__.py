"""Networks for 28x28 MNIST digits: the course DCGAN, its conditional variant, the metric classifier."""

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

__all__ = [
    "IMAGE_SHAPE",
    "NUM_CLASSES",
    "ConditionalDiscriminator",
    "ConditionalGenerator",
    "DigitClassifier",
    "Discriminator",
    "Generator",
    "weights_init",
]
