"""The limits of media uploads and jobs (docs/limits.md, "Media"): the decoders' own limits, and the product's."""

from __future__ import annotations

from workers.media.audio.io import DEFAULT_ANALYSIS_S, MAX_DURATION_S
from workers.media.audio.io import MAX_UPLOAD_BYTES as MAX_UPLOAD_BYTES
from workers.media.image.io import MAX_PIXELS

MAX_IMAGE_PIXELS = MAX_PIXELS
"""Decoded image size (width x height); larger images, and decompression bombs, are refused at probe time."""
MAX_AUDIO_SECONDS = MAX_DURATION_S
"""The longest clip accepted (its header's duration); a job analyses its first ``max_seconds``."""
DEFAULT_MAX_SECONDS = DEFAULT_ANALYSIS_S
"""Seconds of audio a job analyses unless the request asks for more (up to ``MAX_AUDIO_SECONDS``)."""
MAX_TOKENIZERS = 8
"""Tokenizers in one media job."""
MAX_PREFIXES = 16
"""Prefix lengths ``ks`` in one image job."""
MAX_CODEBOOK_UPLOADS = 50
"""Uploads one codebook is trained on."""
