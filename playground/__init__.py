"""GAN Playground: the core package behind the interactive GAN course.

Modules: losses (every loss and closed form), gan (the one D/G step API), models (networks),
checkpoints (the one file format), figures (plotly builders), ui (Streamlit widgets and state).
"""

__version__ = "0.1.0"
