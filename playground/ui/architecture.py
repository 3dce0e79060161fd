"""The MNIST page's "networks, opened up": both diagrams and the layer table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from playground.architecture import Layer, network_layers, shape_text
from playground.figures.architecture import network_dot
from playground.train import TrainSettings


@st.cache_data(show_spinner=False)
def _layers(model: str) -> dict[str, list[Layer]]:
    return network_layers(TrainSettings(model=model))


def architecture_panel(model: str) -> None:
    """G and D of `model` ("dcgan" or "cgan") block by block, then every layer with its output
    shape, its parameters and the DCGAN rule it follows."""
    layers = _layers(model)
    for network in ("G", "D"):
        st.graphviz_chart(network_dot(network, layers[network]), width="stretch")
    rows = [
        {
            "network": network,
            "layer": layer.name,
            "output": shape_text(layer.shape),
            "parameters": layer.parameters,
            "DCGAN rule": layer.rule or "",
        }
        for network in ("G", "D")
        for layer in layers[network]
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    g, d = (sum(layer.parameters for layer in layers[n]) for n in ("G", "D"))
    st.caption(
        f"G has {g:,} parameters and D {d:,}: the forger needs far more capacity than the "
        "inspector. No layer is fully connected and no layer pools: G only upsamples with "
        "transposed convolutions, D only downsamples with strided ones."
    )
