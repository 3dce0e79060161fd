"""Streamlit-facing helpers: typed session state, shared widgets and panels.

This is the only part of the package (with Home.py) that imports Streamlit.
"""
