"""Distil a small draft model from a target, FastDraft-style, for draft-model speculative decoding.

FastDraft (Intel, "FastDraft: How to Train Your Draft", 2024) makes a draft for a target that has no small sibling:
a few-layer model that shares the target's tokenizer is trained on text *the target generated*, so that its
next-token distribution matches the target's (which is what the acceptance rate measures), not the web's.

Three steps, one module each (framework-free; torch is imported by the modules, not by this package):

- :mod:`workers.distill.data`: prompts → target continuations (token ids + the target's top-k logits);
- :mod:`workers.distill.model`: the draft architecture, initialised from the target (embeddings, head, a subset of
  its decoder layers), so training starts from a useful model;
- :mod:`workers.distill.train`: cross-entropy + top-k KL training, held-out agreement, saving an HF folder.

The job entry point is :mod:`workers.pipelines.distill_draft`.
"""
