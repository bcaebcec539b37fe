"""Our own step-by-step decoding engine (autoregressive and speculative) with a per-step trace.

Framework-free: no Django here. Hugging Face ``generate`` hides its inner steps, so this package runs the loop
itself on top of a KV cache and records every draft, verification decision and timing.
"""
