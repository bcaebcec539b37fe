"""Phone tokens: PocketSphinx's US-English acoustic model decodes speech into a timed phone sequence.

A discrete-unit tokenizer without a decoder: each token is one phone (the 39 ARPAbet phones of CMUdict, silence
and the model's two noise units) with its start and end time; tokens per second vary with the speech. Decoding
is "allphone" search with the phone bigram model shipped in the pocketsphinx wheel and the settings CMUSphinx
documents for phone recognition (lw 2.0, pip 0.3, beam 1e-200, pbeam 1e-20). It is a recogniser's best guess:
phone error rates of such models are tens of percent, so read the sequence as an approximate transcription.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import numpy as np

from workers.media.audio.io import resample, to_int16
from workers.media.types import AudioTokens, MediaInputError, MediaTokenizerInfo, NotInstalledError

SAMPLE_RATE = 16000
FRAMES_PER_SECOND = 100  # PocketSphinx's default frame rate (-frate 100)
ARPABET = (
    "AA",
    "AE",
    "AH",
    "AO",
    "AW",
    "AY",
    "B",
    "CH",
    "D",
    "DH",
    "EH",
    "ER",
    "EY",
    "F",
    "G",
    "HH",
    "IH",
    "IY",
    "JH",
    "K",
    "L",
    "M",
    "N",
    "NG",
    "OW",
    "OY",
    "P",
    "R",
    "S",
    "SH",
    "T",
    "TH",
    "UH",
    "UW",
    "V",
    "W",
    "Y",
    "Z",
    "ZH",
)
# Code i is PHONES[i]; "<other>" catches any unit the model emits outside this inventory (none expected).
PHONES = ("SIL", "+NSN+", "+SPN+", *ARPABET, "<other>")
PHONE_INDEX = {phone: i for i, phone in enumerate(PHONES)}
DECODER_SETTINGS = {"lw": 2.0, "pip": 0.3, "beam": 1e-200, "pbeam": 1e-20}
INSTALL = "pip install pocketsphinx (pinned in requirements.txt; the wheel ships the en-us model)"


def pocketsphinx_version() -> str | None:
    try:
        return importlib.metadata.version("pocketsphinx")
    except importlib.metadata.PackageNotFoundError:
        return None


def model_dir() -> Path | None:
    """The wheel's model folder, found without importing pocketsphinx (the web process asks)."""
    spec = importlib.util.find_spec("pocketsphinx")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model" / "en-us"
    return folder if (folder / "en-us-phone.lm.bin").is_file() and (folder / "en-us").is_dir() else None


INFO = MediaTokenizerInfo(
    id="audio/phones-pocketsphinx",
    modality="audio",
    family="units",
    label="Phones (PocketSphinx)",
    description=(
        "Speech to a timed phone sequence with PocketSphinx's US-English acoustic model and phone bigram model: "
        f"{len(PHONES)} units (39 ARPAbet phones, silence, 2 noise units, <other>), variable rate (8-10 per "
        "second, silences included, on the recordings tested). Discrete units, no decoder: nothing to listen to, "
        "and the phones are a recogniser's guess (expect tens of percent phone errors)."
    ),
    layout="strip",
    has_decoder=False,
    codebook_sizes=(len(PHONES),),
    sample_rate=SAMPLE_RATE,
    frame_rate=None,
    source=f"pocketsphinx {pocketsphinx_version() or '(not installed)'} with its bundled en-us model (CMU Sphinx)",
    licence="BSD-2-Clause (PocketSphinx and its en-us model)",
)


class PhoneTokenizer:
    info = INFO

    def __init__(self) -> None:
        folder = model_dir()
        if folder is None:
            raise NotInstalledError("pocketsphinx or its en-us model is not installed", install=INSTALL)
        from pocketsphinx import Decoder

        # The acoustic model and phone LM actually loaded (the manifest records their sha256).
        self.source_files = sorted(p for p in (folder / "en-us").iterdir() if p.is_file())
        self.source_files.append(folder / "en-us-phone.lm.bin")
        self._decoder = Decoder(
            hmm=str(folder / "en-us"),
            allphone=str(folder / "en-us-phone.lm.bin"),
            loglevel="FATAL",
            **DECODER_SETTINGS,
        )

    def encode(self, wave: np.ndarray, sample_rate: int) -> AudioTokens:
        pcm = to_int16(resample(wave, sample_rate, SAMPLE_RATE))
        if pcm.size < SAMPLE_RATE // 10:
            raise MediaInputError("Phone recognition needs at least 0.1 s of audio.")
        self._decoder.start_utt()
        self._decoder.process_raw(pcm.tobytes(), full_utt=True)
        self._decoder.end_utt()
        segments = [(seg.word, seg.start_frame, seg.end_frame) for seg in self._decoder.seg()]
        labels = [word if word in PHONE_INDEX else "<other>" for word, _, _ in segments]
        times = np.array(
            [[start / FRAMES_PER_SECOND, (end + 1) / FRAMES_PER_SECOND] for _, start, end in segments],
            dtype=np.float64,
        ).reshape(-1, 2)
        codes = np.array([PHONE_INDEX[label] for label in labels], dtype=np.int64)[None, :]
        return AudioTokens(
            codes=codes,
            sample_rate=SAMPLE_RATE,
            frame_rate=None,
            times=times,
            labels=labels,
            extra={"phone_inventory": list(PHONES), "decoder_settings": DECODER_SETTINGS},
        )

    def decode(self, tokens: AudioTokens) -> np.ndarray:
        raise NotImplementedError("phone tokens have no decoder: they are discrete units, not a codec")


def load(ref: str | None = None) -> PhoneTokenizer:
    return PhoneTokenizer()
