"""Widgets of the saddle-point page: the game stepped by hand (D step, G step, Reset) and the table
of each method's update matrix.

This session's hand-stepped game is one `TurnByTurn` in a SessionValue; every button acts in an
on_click callback, which runs before the fragment draws, so the chart and counters below the
buttons always show the press's result.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import streamlit as st

from playground.saddle import (
    Players,
    SaddleSettings,
    TurnByTurn,
    fate,
    growth_per_step,
    update_matrix,
)
from playground.ui.layout import decimal
from playground.ui.state import SessionValue

TURNS: SessionValue[TurnByTurn | None] = SessionValue("saddle.turns", lambda: None)

D_STEP, G_STEP, RESET = (f"saddle.{name}" for name in ("d_step", "g_step", "reset"))
"""Keys of the buttons (tests press them by key)."""


def current_turns(x0: float, y0: float) -> TurnByTurn:
    """This session's game; a fresh one at (x0, y0) when there is none or the start was moved."""
    turns = TURNS.get()
    if turns is None or turns.points[0] != (float(x0), float(y0)):
        turns = TurnByTurn.start(x0, y0)
        TURNS.set(turns)
    return turns


def _press(player: str, players: Players) -> None:
    turns = TURNS.get()
    if turns is not None:
        TURNS.set(turns.g_step(players) if player == "G" else turns.d_step(players))


def _reset(x0: float, y0: float) -> None:
    TURNS.set(TurnByTurn.start(x0, y0))


def turn_buttons(x0: float, y0: float, players: Players) -> None:
    """D step, G step and Reset, side by side."""
    d, g, reset = st.columns(3)
    d.button(
        "D step", key=D_STEP, on_click=_press, args=("D", players), width="stretch",
        help="y ← y + η_D·(x − γ·y): D moves up the value, x stays",
    )  # fmt: skip
    g.button(
        "G step", key=G_STEP, on_click=_press, args=("G", players), width="stretch",
        help="x ← x − η_G·y: G moves down the value, y stays",
    )  # fmt: skip
    reset.button(
        "Reset", key=RESET, on_click=_reset, args=(x0, y0), width="stretch",
        icon=":material/restart_alt:",
    )  # fmt: skip


def turn_counters(turns: TurnByTurn) -> None:
    """Steps taken (and by whom), the distance to (0, 0), the current point."""
    x, y = turns.point
    steps, distance = st.columns(2)
    steps.metric(
        "steps", turns.steps, help=f"G: {turns.movers.count('G')}, D: {turns.movers.count('D')}"
    )
    start = float(np.hypot(*turns.points[0]))
    distance.metric(
        "distance to (0, 0)", decimal(turns.distance, 3),
        delta=decimal(turns.distance - start, 3, signed=True), delta_color="inverse",
        help="The change is against the start's distance: negative means closer to the answer.",
    )  # fmt: skip
    st.caption(f"now at x = {decimal(x, 3)} (G), y = {decimal(y, 3)} (D)")


def _matrix_text(matrix: np.ndarray) -> str:
    rows = ("[" + ", ".join(decimal(v, 3) for v in row) + "]" for row in matrix)
    return "[" + ", ".join(rows) + "]"


def matrix_table(runs: Mapping[str, SaddleSettings]) -> None:
    """Each method's update z' = M z, M's eigenvalues, their largest modulus and the fate."""
    lines = ["| method | M | eigenvalues | max \\|λ\\| | fate |", "| --- | --- | --- | --- | --- |"]
    for method, settings in runs.items():
        matrix = update_matrix(settings.players(), settings.order)
        eigenvalues = ", ".join(f"{v:.3f}".replace("j", "i") for v in np.linalg.eigvals(matrix))
        rate = growth_per_step(settings)
        lines.append(
            f"| {method} | {_matrix_text(matrix)} | {eigenvalues} | {rate:.4f} | {fate(rate)} |"
        )
    st.markdown("\n".join(lines))


__all__ = [
    "D_STEP",
    "G_STEP",
    "RESET",
    "TURNS",
    "current_turns",
    "matrix_table",
    "turn_buttons",
    "turn_counters",
]
