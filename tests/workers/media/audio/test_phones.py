"""PocketSphinx phone tokens on real speech: a codec2-examples recording and an espeak-ng clip."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from tests.workers.media.audio.speech import codec2_speech, espeak_wav
from workers.media.audio import phones
from workers.media.audio.io import load_audio
from workers.media.types import AudioTokenizer, AudioTokens

VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


@functools.cache
def tokenizer() -> phones.PhoneTokenizer:
    return phones.load()


def check_timing(tokens: AudioTokens, duration_s: float) -> None:
    times = tokens.times
    assert times is not None and tokens.labels is not None
    assert times.shape == (tokens.codes.shape[1], 2) and len(tokens.labels) == tokens.codes.shape[1]
    assert np.all(times[:, 1] > times[:, 0])  # every phone lasts
    assert np.all(np.diff(times[:, 0]) > 0) and np.all(times[1:, 0] >= times[:-1, 1] - 1e-9)  # in order, no overlap
    assert times[0, 0] >= 0 and times[-1, 1] <= duration_s + 0.02
    assert [phones.PHONES[c] for c in tokens.codes[0]] == tokens.labels


def test_real_recording_gives_a_plausible_phone_sequence() -> None:
    """Catches feeding the recogniser the wrong rate or scale (it then hears silence or noise): 3 s of read speech
    must give a dozen or more phones with several distinct vowels and consonants, framed by silence."""
    tok = tokenizer()
    assert isinstance(tok, AudioTokenizer) and not tok.info.has_decoder
    tokens = tok.encode(codec2_speech(), 8000)
    labels = tokens.labels or []
    speech = [label for label in labels if label != "SIL"]
    assert len(speech) >= 15
    assert len(VOWELS & set(speech)) >= 4 and len(set(speech) - VOWELS) >= 6
    assert labels[0] == "SIL" and labels[-1] == "SIL"
    check_timing(tokens, 3.0)


def test_espeak_hello_world(tmp_path: Path) -> None:
    """Catches a recogniser that returns phones unrelated to the words: "hello world" must contain several of its
    own phones (HH EH L OW W ER L D) and take most of the clip."""
    clip = load_audio(espeak_wav(tmp_path / "hello.wav", "hello world"))
    tokens = tokenizer().encode(clip.wave, clip.sample_rate)
    labels = tokens.labels or []
    assert len({"HH", "EH", "L", "OW", "W", "ER", "D"} & set(labels)) >= 3
    check_timing(tokens, clip.analysed_s)


def test_there_is_no_decoder() -> None:
    """Catches a units tokenizer pretending to reconstruct audio."""
    tokens = tokenizer().encode(codec2_speech(), 8000)
    with pytest.raises(NotImplementedError):
        tokenizer().decode(tokens)


def test_the_manifest_can_hash_the_acoustic_model_loaded() -> None:
    """Catches a phone result whose manifest does not list the acoustic model and phone LM files it used."""
    from workers.media.audio.phones import PhoneTokenizer

    names = {path.name for path in PhoneTokenizer().source_files}
    assert {"mdef", "means", "en-us-phone.lm.bin"} <= names
