"""mu-law 8-bit against the formula worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tests.workers.media.audio.speech import codec2_speech
from workers.media.audio import mulaw
from workers.media.audio.io import resample
from workers.media.types import AudioTokenizer, AudioTokens, MediaInputError


def test_codes_worked_by_hand() -> None:
    """Catches a wrong mu, log base or rounding. By hand: F(0.5) = ln(128.5) / ln(256) = 0.875703, and
    (0.875703 + 1) / 2 * 255 + 0.5 = 239.65 -> 239; F(-0.5) -> 16.35 -> 16; F(0.01) = ln(3.55) / ln(256) -> 157."""
    x = np.array([-1.0, -0.5, 0.0, 0.01, 0.5, 1.0, 3.0])
    assert mulaw.mulaw_encode(x).tolist() == [0, 16, 128, 157, 239, 255, 255]


def test_decode_worked_by_hand() -> None:
    """Catches a decoder that is not the formula's inverse: code 128 is y = 1/255, x = (256^(1/255) - 1) / 255
    = 8.621e-5; codes 0 and 255 are -1 and 1 exactly."""
    decoded = mulaw.mulaw_decode(np.array([0, 128, 255]))
    assert decoded[0] == -1.0 and decoded[2] == 1.0
    assert decoded[1] == pytest.approx(8.621e-5, rel=1e-3)


def test_round_trip_error_is_half_a_step_of_the_companded_scale() -> None:
    """Catches an off-by-one code or a linear (not logarithmic) quantiser: the error bound grows with |x|, it is
    half a step (1/255 in y) times dx/dy = ln(256) (1 + 255 |x|) / 255."""
    x = np.linspace(-1, 1, 20001)
    error = np.abs(mulaw.mulaw_decode(mulaw.mulaw_encode(x)) - x)
    bound = (1 / 255) * np.log(256) * (1 + 255 * np.abs(x)) / 255 * 1.05 + 1e-7
    assert np.all(error <= bound)
    # Near zero the steps are ten times finer than a linear 8-bit quantiser's (half step 1/255 = 3.9e-3).
    assert error[np.abs(x) < 0.01].max() < 3.9e-4


def test_tokenizer_shapes_rate_and_bitrate() -> None:
    """Catches a tokenizer that skips resampling to 16 kHz or reports the wrong rate: one token per sample."""
    tokenizer = mulaw.load()
    assert isinstance(tokenizer, AudioTokenizer)
    speech = codec2_speech()  # 3.0 s at 8 kHz
    tokens = tokenizer.encode(speech, 8000)
    assert tokens.codes.shape == (1, 48000) and tokens.frame_rate == 16000 and tokens.sample_rate == 16000
    info = tokenizer.info
    assert info.frame_rate * sum(np.log2(info.codebook_sizes)) == 128000
    decoded = tokenizer.decode(tokens)
    x = resample(speech, 8000, 16000)
    assert np.all(np.abs(decoded - x) <= np.log(256) * (1 + 255 * np.abs(x)) / 255**2 * 1.05 + 1e-6)
    with pytest.raises(MediaInputError):
        tokenizer.decode(AudioTokens(codes=np.array([[256]]), sample_rate=16000, frame_rate=16000.0))
