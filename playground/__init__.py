"""GAN Playground: the core package behind the interactive GAN course.

Bottom to top (docs/architecture.md has the picture and one line per module):

    settings, seeds, pixels, history   one field check, one seed rule, one pixel range, one thinner
    checkpoints, losses, models        the file format; every loss and closed form; the networks
    data                               MNIST from a local cache, synthetic digits
    gan                                THE step API: GANStepper and its records
    toy, metrics                       the 1-D stepper; classifier FID, IS, precision/recall
    train, failures                    the MNIST engine (GAN, VAE, CLI); failure presets and fixes
    jobs, shipped                      background training jobs; the models that ship
    figures                            plotly builders: numbers in, pictures out
    ui, Home.py                        Streamlit widgets and typed session state (the only Streamlit)
"""

__version__ = "0.1.0"
