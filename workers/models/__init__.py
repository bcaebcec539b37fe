"""Causal language models for the workers: catalogue (web-safe), device choice, per-process registry, early exit.

Importing this package or ``workers.models.catalog`` must not import torch: the web process lists models from it.
"""
