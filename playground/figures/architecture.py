"""The DCGAN's two networks drawn block by block (graphviz): each convolution with the batch norm
and activation that follow it, and the tensor shape it outputs (z -> 3x3 -> 6x6 -> 13x13 -> 28x28
in G and back down in D)."""

from __future__ import annotations

from collections.abc import Sequence

from playground.architecture import Layer, shape_text

COLOURS = {"G": "#ffe3c4", "D": "#d4edda", "input": "#f4f4f4"}
_STARTS_BLOCK = ("input", "Conv2d", "ConvTranspose2d", "Linear")


def blocks(layers: Sequence[Layer]) -> list[list[Layer]]:
    """Layers grouped as a student reads them: a convolution and the layers after it."""
    grouped: list[list[Layer]] = []
    for layer in layers:
        if layer.kind in _STARTS_BLOCK or not grouped:
            grouped.append([layer])
        else:
            grouped[-1].append(layer)
    return grouped


def network_dot(network: str, layers: Sequence[Layer]) -> str:
    """Graphviz source of one network ("G" or "D"), left to right, one box per block."""
    title = "Generator G" if network == "G" else "Discriminator D"
    lines = [
        f"digraph {network} {{",
        '  rankdir=LR; bgcolor="transparent"; nodesep=0.25; ranksep=0.3;',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        f'  label="{title}"; labelloc=t; fontname="Helvetica";',
    ]
    for i, block in enumerate(blocks(layers)):
        head, last = block[0], block[-1]
        extra = " + ".join(layer.kind for layer in block[1:])
        text = head.name + (f"\\n+ {extra}" if extra else "")
        colour = COLOURS["input" if head.kind == "input" else network]
        lines.append(f'  b{i} [label="{text}\\n{shape_text(last.shape)}", fillcolor="{colour}"];')
        if i:
            lines.append(f"  b{i - 1} -> b{i};")
    if network == "D":
        lines.append('  logit [label="logit: real or fake?", shape=ellipse];')
        lines.append(f"  b{len(blocks(layers)) - 1} -> logit;")
    lines.append("}")
    return "\n".join(lines)


__all__ = ["blocks", "network_dot"]
