"""The 1-D GAN: toy data, two tiny MLPs and `ToyGAN`, a stepper a student drives by hand.

Real data x from a target of mean real_mean and std real_std (by default N(real_mean,
real_std^2); also two or three separated modes, uniform, exponential); noise z ~ U(-1, 1)^d (as in the classic 50-line GAN) or
N(0, I_d). G maps z to one number, D maps one number to a *logit*. Every update goes through
`playground.gan.GANStepper`.

    settings  ToySettings: the experiment (what a link carries), checked by playground.settings
    targets   the data's shape: Gaussian, two or three modes, uniform, exponential (exact laws)
    world     the data source, the noise, G and D, their optimizers, the one-thread rule
    readout   what the figures draw: densities, D vs D*, KL/JS, the map z -> x, the arrows
    presses   the history's entries, the last press, the press log, the limits of the history
    cost      what a press costs, and the cap on a "Run N steps" press
    stepper   ToyGAN: presses, Run, rewind, settings changed in place, read-outs
    explain   one line, from the numbers, of what the last press did
    replay    the press log written for a link, read back and replayed exactly

The public names are re-exported here: `from playground.toy import ToyGAN, ToySettings`.
"""

from playground.toy.cost import RUN_LIMIT, RunTooLong, iteration_seconds, run_limit
from playground.toy.explain import explain_press
from playground.toy.presses import Entry, HistoryLimits, LoggedPress, Press, PressLog
from playground.toy.readout import (
    Curves,
    Measures,
    Readout,
    divergences,
    fake_density,
    fake_gradients,
    kde,
    noise_cdf,
    noise_pdf,
    perfect_map,
    silverman_bandwidth,
    x_grid,
)
from playground.toy.replay import (
    MAX_PRESSES_CHARS,
    REPLAY_STEPS,
    PressesError,
    Replay,
    check_link,
    read_presses,
    replay_presses,
    written,
)
from playground.toy.settings import (
    NOISE_KINDS,
    OPTIMIZERS,
    REBUILD_FIELDS,
    SETTING_CHOICES,
    SETTING_FLAGS,
    SETTING_RANGES,
    TARGETS,
    ToySettings,
    ToySettingsError,
)
from playground.toy.stepper import ProgressCallback, ToyGAN
from playground.toy.targets import Mode, Target, target_of
from playground.toy.world import (
    ToySource,
    make_discriminator,
    make_generator,
    make_optimizer,
    sample_noise,
    single_threaded,
)

__all__ = [
    "MAX_PRESSES_CHARS",
    "REPLAY_STEPS",
    "LoggedPress",
    "PressLog",
    "PressesError",
    "Replay",
    "check_link",
    "read_presses",
    "replay_presses",
    "written",
    "NOISE_KINDS",
    "OPTIMIZERS",
    "REBUILD_FIELDS",
    "RUN_LIMIT",
    "SETTING_CHOICES",
    "SETTING_FLAGS",
    "SETTING_RANGES",
    "TARGETS",
    "Mode",
    "Target",
    "target_of",
    "fake_density",
    "noise_cdf",
    "noise_pdf",
    "Curves",
    "Entry",
    "HistoryLimits",
    "Measures",
    "ProgressCallback",
    "Press",
    "Readout",
    "RunTooLong",
    "ToyGAN",
    "ToySettings",
    "ToySettingsError",
    "ToySource",
    "divergences",
    "explain_press",
    "fake_gradients",
    "iteration_seconds",
    "kde",
    "make_discriminator",
    "make_generator",
    "make_optimizer",
    "perfect_map",
    "run_limit",
    "sample_noise",
    "silverman_bandwidth",
    "single_threaded",
    "x_grid",
]
