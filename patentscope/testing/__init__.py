"""Helpers for tests and benchmarks. Everything here is SYNTHETIC and labelled so."""
