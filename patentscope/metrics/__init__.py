"""Metrics: pure polars functions (frames in, frames out; networkx/scipy/scikit-learn inside).

Each function's docstring names its input columns and the unit of its output. Nothing here
opens the warehouse: ``patentscope analyze`` reads frames, calls these, and writes the derived
tables back.
"""
