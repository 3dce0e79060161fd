"""Plotly figure builders: pure functions, numbers in, go.Figure out. One builder per picture.

bce      -- the BCE curves, the generator-loss saturation plot, the optimal discriminator
"""
