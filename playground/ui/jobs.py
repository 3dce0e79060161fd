"""Widgets of the MNIST GAN page: the shared JobManager, the settings form, the live job panel,
the pretrained generators and the checkpoint upload.

The JobManager is one per process (`st.cache_resource`); a session-scoped lease tells it when a
browser session ends, so orphaned jobs can be stopped after the grace period. The job panel is a
fragment that reruns every REFRESH_S seconds while a job is queued or running, and only then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from playground import jobs, shipped
from playground.ablations import ABLATIONS
from playground.ablations import FORM_HELP as ABLATION_HELP
from playground.ablations import LABELS as ABLATION_LABELS
from playground.checkpoints import CheckpointError
from playground.data import DataUnavailable, load_training_data
from playground.figures import mnist as figures
from playground.jobs import JobManager, JobSnapshot, JobState
from playground.losses import G_LOSSES
from playground.shipped import ShippedModel
from playground.train import MODELS, TrainSettings
from playground.ui import numbers as numbers_ui
from playground.ui.layout import errors_shown
from playground.ui.state import SessionValue, owner_id
from playground.ui.trick_fields import trick_inputs

REFRESH_S = 1.0
"""How often the live panel redraws (plots are thinned; one sample grid image per job)."""
MODEL_LABELS = {name: shipped.LABELS[name] for name in MODELS}
BATCH_SIZES = (32, 64, 128, 256, 512)

_NOISE_SEED: SessionValue[int] = SessionValue("mnist.noise_seed", lambda: 0)


# ---------------------------------------------------------------------------------------------
# Shared, cached resources


def _shutdown(manager: JobManager) -> None:
    manager.shutdown(checkpoint=True, timeout=30.0)


@st.cache_resource(show_spinner=False, on_release=_shutdown)
def job_manager() -> JobManager:
    """The process's one JobManager (limits from PLAYGROUND_* variables; see the README)."""
    return JobManager(
        jobs.ManagerSettings.from_env(),
        data=load_training_data,
        evaluator=jobs.shipped_evaluator,
    )


def shared_manager() -> JobManager | None:
    """The JobManager, or None after showing why it cannot start (a bad PLAYGROUND_* value)."""
    try:
        return job_manager()
    except jobs.ConfigError as exc:
        st.error(f"Training is unavailable on this server: {exc}", icon=":material/error:")
        return None


@dataclass(frozen=True)
class _Lease:
    manager: JobManager
    key: str


def _close_lease(lease: _Lease) -> None:
    lease.manager.close_session(lease.key)


@st.cache_resource(scope="session", on_release=_close_lease, show_spinner=False)
def _session_lease(owner: str, manager_id: int) -> _Lease:
    del manager_id  # part of the key: a new manager (cache cleared) gets its own lease
    manager = job_manager()
    return _Lease(manager, manager.open_session(owner))


def session_owner() -> str:
    """This session's owner id, registered with the manager as alive until the session ends."""
    owner = owner_id()
    _session_lease(owner, id(job_manager()))
    return owner


def data_problem() -> str | None:
    """None when jobs have training data; else the message saying how to get MNIST."""
    try:
        load_training_data()
    except DataUnavailable as exc:
        return str(exc)
    return None


# ---------------------------------------------------------------------------------------------
# Starting a job


def device_note(manager: JobManager) -> str:
    """Where jobs train and how the server shares it."""
    s = manager.settings
    return (
        f"Jobs train on {manager.executor.description()}. {s.gpu_slots} job(s) train at a time "
        f"on this server, at most {s.max_jobs_per_owner} of yours; the others wait in the queue."
    )


def model_picker() -> str:
    """DCGAN or cGAN."""
    choice = st.segmented_control(
        "model",
        options=list(MODEL_LABELS),
        default="dcgan",
        format_func=MODEL_LABELS.get,
        key="mnist_model",
    )
    return choice or "dcgan"


def settings_form(model: str, manager: JobManager) -> TrainSettings | None:
    """The training settings as a TrainSettings when "Train" is pressed (validated on submit)."""
    default = TrainSettings(model=model, epochs=5.0 if manager.executor.has_gpu() else 1.0)
    with st.form(f"train_{model}"):
        c1, c2, c3, c4 = st.columns(4)
        epochs = c1.number_input(
            "epochs",
            min_value=0.01,
            max_value=float(manager.settings.max_epochs),
            value=default.epochs,
            step=0.5,
            format="%g",  # 1 and 0.5, not 1.00 and 0.50
        )
        batch_size = c1.selectbox(
            "batch size", BATCH_SIZES, index=BATCH_SIZES.index(default.batch_size)
        )
        lr_g = c2.number_input("G learning rate", 1e-6, 0.1, default.lr_g, step=1e-5, format="%.5f")
        lr_d = c2.number_input("D learning rate", 1e-6, 0.1, default.lr_d, step=1e-5, format="%.5f")
        beta1 = c3.number_input("Adam β1", 0.0, 0.999, default.beta1, step=0.05, format="%.3f")
        beta2 = c3.number_input("Adam β2", 0.0, 0.9999, default.beta2, step=0.001, format="%.4f")
        z_dim = c4.number_input("noise size z", 1, 256, default.z_dim)
        seed = c4.number_input("seed", 0, 2**31 - 1, default.seed)
        with st.expander("more settings"):
            g_loss = st.selectbox("generator loss", G_LOSSES, index=G_LOSSES.index(default.g_loss))
            k_d = st.number_input("D steps per G step", 1, 10, default.k_d)
            st.markdown("**Training tricks** (all off by default)")
            tricks = trick_inputs(default.tricks)
            ablation = st.selectbox(
                "DCGAN rule to break (ablation)",
                ABLATIONS,
                format_func=lambda name: ABLATION_LABELS[name],
                help=ABLATION_HELP,
            )
        st.caption(device_note(manager))
        submitted = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")
    if not submitted:
        return None
    return TrainSettings(
        model=model,
        epochs=float(epochs),
        batch_size=int(batch_size),
        lr_g=float(lr_g),
        lr_d=float(lr_d),
        beta1=float(beta1),
        beta2=float(beta2),
        z_dim=int(z_dim),
        g_loss=str(g_loss),
        k_d=int(k_d),
        seed=int(seed),
        **tricks,
        ablation=str(ablation),
    )


# ---------------------------------------------------------------------------------------------
# The student's jobs


def _signature(snapshots: list[JobSnapshot]) -> tuple[tuple[str, str, bool, bool], ...]:
    """What decides the page's layout: which jobs exist, whether each is live or moving, and
    which downloads it offers."""
    return tuple(
        (s.job_id, _phase(s), s.checkpoint_step is not None, bool(s.history)) for s in snapshots
    )


def _phase(snapshot: JobSnapshot) -> str:
    if snapshot.state in (JobState.QUEUED, JobState.RUNNING):
        return "moving"
    return "live" if snapshot.is_live else "ended"


def job_panel(manager: JobManager, owner: str) -> None:
    """Live jobs first, each redrawing itself while a job moves; ended jobs below them.

    Only a live job's view refreshes; its buttons are drawn by the page run. A download button
    inside a refreshing fragment gets a new file id at every refresh, so a click that lands
    between two refreshes asks for an id already dropped, and nothing downloads.
    """
    snapshots = manager.list(owner)
    if not snapshots:
        st.caption("No jobs yet: press Train above.")
        return
    signature = _signature(snapshots)
    refresh = REFRESH_S if any(_phase(s) == "moving" for s in snapshots) else None
    for snapshot in snapshots:
        if snapshot.is_live:
            with st.container(border=True, key=f"job-{snapshot.job_id}"):
                st.fragment(run_every=refresh)(_live_view)(manager, owner, snapshot, signature)
                _job_actions(manager, owner, snapshot)
    ended = [s for s in snapshots if not s.is_live]
    if ended:
        _ended_jobs(manager, owner, ended)


def _live_view(
    manager: JobManager,
    owner: str,
    snapshot: JobSnapshot,
    signature: tuple[tuple[str, str, bool, bool], ...],
) -> None:
    snapshots = manager.list(owner)
    if _signature(snapshots) != signature:
        st.rerun()  # a job started or ended, or has a new download: lay the panel out again
    latest = next((s for s in snapshots if s.job_id == snapshot.job_id), snapshot)
    job_view(latest)


def _ended_jobs(manager: JobManager, owner: str, ended: list[JobSnapshot]) -> None:
    st.subheader("Ended jobs")
    choice = st.selectbox(
        "show job",
        [s.job_id for s in ended],
        key="mnist_ended_job",
        format_func=lambda i: _label(ended, i),
    )
    chosen = next((s for s in ended if s.job_id == choice), ended[0])
    job_card(manager, owner, chosen)


def _label(snapshots: list[JobSnapshot], job_id: str) -> str:
    s = next(s for s in snapshots if s.job_id == job_id)
    return f"{job_id} · {MODEL_LABELS[s.model]} · {s.state} at step {s.step:,}"


def job_card(manager: JobManager, owner: str, snapshot: JobSnapshot) -> None:
    """One ended job: its view, then its actions and downloads."""
    with st.container(border=True, key=f"job-{snapshot.job_id}"):
        job_view(snapshot)
        _job_actions(manager, owner, snapshot)


def job_view(s: JobSnapshot) -> None:
    """Status, progress with ETA, loss curves, the sample grid and the metrics of one job."""
    st.markdown(f"**{MODEL_LABELS[s.model]}** · job `{s.job_id}` · **{s.state}**")
    st.caption(_settings_summary(s))
    if s.state == JobState.QUEUED:
        st.info(
            f"Waiting for a free slot: position {s.position} in the queue.",
            icon=":material/hourglass:",
        )
    if s.state == JobState.FAILED:
        st.error(s.reason)
    elif "by the instructor" in s.reason:
        st.warning(s.reason, icon=":material/school:")
    elif s.reason:
        st.caption(s.reason)
    st.progress(s.progress, text=progress_text(s))
    curves, grid = st.columns([3, 2])
    if s.history:
        curves.plotly_chart(figures.loss_curves(s.history), key=f"loss-{s.job_id}", width="stretch")
    if s.samples is not None:
        rows = "; row r shows digit r" if s.settings.conditional else ""
        caption = f"G(fixed noise) at step {s.samples_step:,}{rows}"
        grid.image(figures.sample_grid(s.samples, 8), caption=caption, width="stretch")
    if s.metrics:
        grid.caption(metrics_text(s.metrics, s.metrics_step))
    if s.history:
        numbers_ui.phase_note(s.history)


def _job_actions(manager: JobManager, owner: str, s: JobSnapshot) -> None:
    cols = st.columns(6)
    actions = []
    if s.state in (JobState.RUNNING, JobState.QUEUED):
        actions.append(("Pause", manager.pause, ":material/pause:"))
    if s.state in jobs.RESUMABLE_STATES and not s.held:  # a hold is the instructor's to lift
        actions.append(("Resume", manager.resume, ":material/play_arrow:"))
    if s.state in (*jobs.LIVE_STATES, JobState.INTERRUPTED):
        actions.append(("Stop", manager.stop, ":material/stop:"))
    for col, (label, action, icon) in zip(cols, actions, strict=False):
        if col.button(label, key=f"{label.lower()}-{s.job_id}", icon=icon):
            _act(action, owner, s.job_id)
    # Deleting removes the files for good, so it asks once more.
    with cols[len(actions)].popover("Delete", icon=":material/delete:"):
        st.caption("Stops the job if needed and deletes its checkpoints and history.")
        if st.button("Delete for good", key=f"delete-{s.job_id}", type="primary"):
            _act(manager.delete, owner, s.job_id)
    if s.checkpoint_step is not None:
        cols[4].download_button(
            "Generator",
            data=lambda: manager.generator_checkpoint(owner, s.job_id),
            file_name=f"{s.model}-{s.job_id}-generator.safetensors",
            mime="application/octet-stream",
            key=f"download-g-{s.job_id}",
            icon=":material/download:",
            on_click="ignore",
            help="generator weights + settings at the job's last checkpoint",
        )
    if s.history:
        cols[5].download_button(
            "Losses CSV",
            data=lambda: manager.history_csv(owner, s.job_id),
            file_name=f"{s.model}-{s.job_id}-losses.csv",
            mime="text/csv",
            key=f"download-csv-{s.job_id}",
            icon=":material/download:",
            on_click="ignore",
        )


def _act(action: Callable[[str, str], object], owner: str, job_id: str) -> None:
    """Run a job action; show a refusal as a message, else redraw the whole page."""
    with errors_shown():
        action(owner, job_id)
        st.rerun()


def _settings_summary(s: JobSnapshot) -> str:
    t = s.settings
    where = f" · on {s.device}" if s.device else ""
    return (
        f"{plain_number(t.epochs)} epoch{'' if t.epochs == 1 else 's'} · batch {t.batch_size} · "
        f"lr G {t.lr_g:g}, D {t.lr_d:g} · β = ({t.beta1:g}, {t.beta2:g}) · z {t.z_dim} · "
        f"{t.g_loss} · k_d {t.k_d} · seed {t.seed}{where}"
    )


def progress_text(s: JobSnapshot) -> str:
    """One line such as: step 120/469 · epoch 0.26/1 · 2,310 images/s · ETA 0:15."""
    total = f"/{s.total_steps:,}" if s.total_steps else ""
    epochs = f"epoch {plain_number(s.epoch)}/{plain_number(s.settings.epochs)}"
    parts = [f"step {s.step:,}{total}", epochs]
    if s.state == JobState.RUNNING and s.images_per_s > 0:
        parts.append(f"{s.images_per_s:,.0f} images/s")
    if s.eta_s is not None:
        parts.append(f"ETA {format_duration(s.eta_s)}")
    return " · ".join(parts)


def plain_number(value: float) -> str:
    """A number as a person writes it, to 2 decimals: 1, 0.5, 2.25 (not 1.00, 0.50)."""
    return f"{round(value, 2):g}"


def format_duration(seconds: float) -> str:
    """0:42, 12:05, 1:02:03."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def metrics_text(metrics: Mapping[str, Any], step: int | None) -> str:
    """One line of the metrics that matter most, from a SampleMetrics.as_dict()."""
    values = dict(metrics)
    parts = []
    for key, label, fmt in (
        ("fid", "FID", "{:.1f}"),
        ("inception_score", "IS", "{:.2f}"),
        ("classes_covered", "digits covered", "{:.0f}/10"),
        ("largest_class_fraction", "largest digit share", "{:.0%}"),
        ("label_accuracy", "label accuracy", "{:.0%}"),
    ):
        value = values.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            parts.append(f"{label} {fmt.format(value)}")
    where = f" (step {step:,})" if step is not None else ""
    return "Metrics" + where + ": " + " · ".join(parts)


# ---------------------------------------------------------------------------------------------
# Sampling shipped and uploaded generators


@dataclass(frozen=True)
class GeneratorPictures:
    """What the page shows of a generator: a sample grid, its caption and a latent interpolation."""

    grid: np.ndarray
    caption: str
    interpolation: np.ndarray


def generator_pictures(model: ShippedModel, seed: int, digit: int | None) -> GeneratorPictures:
    """Samples from noise drawn with `seed` (cGAN: `digit`, or row r = digit r), and G along the
    straight line between the grid's first two noise vectors."""
    labels = shipped.digit_labels(digit) if model.conditional else None
    pictures = figures.sample_pictures(shipped.sample_digits(model.sampler, seed, labels))
    rows = "; row r shows digit r" if model.conditional and digit is None else ""
    return GeneratorPictures(pictures.grid, f"noise seed {seed}{rows}", pictures.interpolation)


@st.cache_resource(show_spinner=False, max_entries=64)
def _shipped_pictures(
    name: str, path: str, mtime_ns: int, seed: int, digit: int | None
) -> GeneratorPictures:
    del path, mtime_ns  # part of the cache key: a replaced file is sampled afresh
    return generator_pictures(shipped.load(name), seed, digit)


@st.cache_resource(show_spinner=False, max_entries=4)
def _load_uploaded(data: bytes) -> ShippedModel:
    return shipped.load_upload(data)


def _digit_picker(model: ShippedModel, key: str) -> int | None:
    if not model.conditional:
        return None
    choice = st.segmented_control("digit", ["all", *range(10)], default="all", key=key)
    return None if choice in (None, "all") else int(choice)


def _noise_button(key: str) -> int:
    if st.button("New noise", key=key, icon=":material/casino:"):
        _NOISE_SEED.set(_NOISE_SEED.get() + 1)
    return _NOISE_SEED.get()


def _show(pictures: GeneratorPictures) -> None:
    st.image(pictures.grid, caption=pictures.caption, width=360)
    st.markdown(
        "**Latent interpolation**: G(z) as z moves in a straight line from the grid's first "
        "noise vector to its second. Nearby noise gives similar digits."
    )
    st.image(pictures.interpolation, width="stretch")


def pretrained_panel(name: str) -> None:
    """The shipped generator's samples, or a clear message when it is missing."""
    try:
        path, mtime = shipped.model_file(name)
        model = shipped.load(name)
    except CheckpointError as exc:
        st.info(f"{exc} Or train your own below.", icon=":material/info:")
        return
    digit = _digit_picker(model, f"shipped_{name}_digit")
    seed = _noise_button(f"shipped_{name}_noise")
    _show(_shipped_pictures(name, str(path), mtime, seed, digit))
    if model.metrics:
        st.caption(metrics_text(model.metrics, model.metadata.get("step")))
        with st.expander("What FID and IS mean, taken apart on these samples"):
            numbers_ui.numbers_panel(name, model, str(path), mtime)


def upload_cap_bytes() -> int:
    """The one upload cap: Streamlit's server.maxUploadSize (MB of 2**20 bytes, set in
    .streamlit/config.toml), which the uploader shows and the server enforces."""
    return int(st.config.get_option("server.maxUploadSize")) * 2**20


def upload_panel() -> None:
    """Sample from a generator checkpoint the student uploads (size-capped, validated)."""
    upload = st.file_uploader(
        "a generator checkpoint (.safetensors, e.g. one downloaded from a job above)",
        type=["safetensors"],
        key="mnist_upload",
    )
    if upload is None:
        return
    cap = upload_cap_bytes()
    if upload.size > cap:  # only a client that skips the uploader's own check gets here
        st.error(
            f"{upload.name} is larger than {cap // 2**20} MB, the most this server accepts",
            icon=":material/error:",
        )
        return
    with errors_shown():
        model = _load_uploaded(upload.getvalue())
        settings = model.settings
        st.caption(
            f"{MODEL_LABELS[settings.model]}, noise size {settings.z_dim}, "
            f"trained with seed {settings.seed}"
        )
        digit = _digit_picker(model, "upload_digit")
        seed = _noise_button("upload_noise")
        _show(generator_pictures(model, seed, digit))
