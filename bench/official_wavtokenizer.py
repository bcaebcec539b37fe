"""Our WavTokenizer against the official implementation, on the same weights and the same input.

    PYTHONPATH=. <python> bench/official_wavtokenizer.py --official /path/to/WavTokenizer-checkout [--quick]

``<python>`` must import both this project (torch, numpy, safetensors, scipy) and the official code's own imports
(``einops``, ``pyyaml``, ``huggingface_hub``, ``torchaudio``); the official repository
(github.com/jishengpeng/WavTokenizer) is read from ``--official`` or ``WAVTOKENIZER_OFFICIAL`` and never copied here.
``torchaudio`` is imported by the official modules only for things outside the compared path (file I/O, the mel
feature extractor, an unused head's init); where it cannot be imported, a stub whose every function raises stands
in, and the table says so.

No official weights can be had here, so for each configuration it builds a checkpoint in the official format:
the official ``WavTokenizer.from_hparams0802`` model with random weights (every parameter perturbed, the codebook
filled with encoder outputs of a noisy copy of the clip, as k-means initialisation would), saved as a Lightning-style
``.ckpt`` with extra training keys. Then
- the official model loads it with ``from_pretrained0802`` and runs ``encode_infer`` -> ``decode`` (bandwidth id 0)
  and ``codes_to_features`` -> ``decode``;
- our converter turns the ``.ckpt`` into ``config.yaml`` + ``model.safetensors``, our loader loads that, and our
  model encodes and decodes the same 24 kHz waveform (real speech from Debian's codec2-examples, resampled once).
It reports whether the codes are identical and the largest absolute difference of the reconstructions, and writes
the table into docs/media.md.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench.report import table, write_section

DOC = Path(__file__).resolve().parents[1] / "docs" / "media.md"
SPEECH = Path("/usr/share/codec2/raw/hts1a.raw")  # codec2-examples: 8 kHz signed 16-bit mono speech
FRAME40 = "configs/wavtokenizer_smalldata_frame40_3s_nq1_code4096_dim512_kmeans200_attn.yaml"
FRAME75 = "configs/wavtokenizer_smalldata_frame75_3s_nq1_code4096_dim512_kmeans200_attn.yaml"
# A small variant: the encoder is fixed by the official code; the backbone, head and codebook shrink.
SMALL = {"dim": 256, "intermediate_dim": 768, "num_layers": 3, "vq_bins": 1024, "n_fft_per_hop": 4}
TOLERANCE = 1e-5  # largest absolute difference of float32 reconstructions we call "the same"


def import_official(checkout: Path) -> tuple[Any, str]:
    """The official ``WavTokenizer`` class, and how torchaudio was provided."""
    torchaudio_state = "real"
    try:
        import torchaudio  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure to import (missing, or a CUDA build on a CPU torch)
        torchaudio_state = "stub (not in the compared path)"
        for name in [k for k in sys.modules if k == "torchaudio" or k.startswith("torchaudio.")]:
            del sys.modules[name]

        def unavailable(*args: object, **kwargs: object) -> None:
            raise NotImplementedError("torchaudio stub: called outside the compared path")

        stub = types.ModuleType("torchaudio")
        functional = types.ModuleType("torchaudio.functional")
        functional_functional = types.ModuleType("torchaudio.functional.functional")
        transforms = types.ModuleType("torchaudio.transforms")
        for module, names in (
            (stub, ("load", "save")),
            (functional_functional, ("_hz_to_mel", "_mel_to_hz")),
            (transforms, ("MelSpectrogram", "Resample")),
        ):
            for attr in names:
                setattr(module, attr, unavailable)
        stub.functional, stub.transforms = functional, transforms  # type: ignore[attr-defined]
        functional.functional = functional_functional  # type: ignore[attr-defined]
        sys.modules.update(
            {
                "torchaudio": stub,
                "torchaudio.functional": functional,
                "torchaudio.functional.functional": functional_functional,
                "torchaudio.transforms": transforms,
            }
        )
    sys.path.insert(0, str(checkout))
    from decoder.pretrained import WavTokenizer

    return WavTokenizer, torchaudio_state


def official_revision(checkout: Path) -> str:
    import subprocess

    try:
        found = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
    except OSError:
        return "unknown (git not found)"
    return found.stdout.strip() if found.returncode == 0 else os.environ.get("WAVTOKENIZER_OFFICIAL_REV", "unknown")


def variant(config: dict[str, Any], *, small: bool) -> dict[str, Any]:
    config = copy.deepcopy(config)
    args = config["model"]["init_args"]
    if small:
        hop = args["head"]["init_args"]["hop_length"]
        args["backbone"]["init_args"].update(
            dim=SMALL["dim"], intermediate_dim=SMALL["intermediate_dim"], num_layers=SMALL["num_layers"]
        )
        args["head"]["init_args"].update(dim=SMALL["dim"], n_fft=SMALL["n_fft_per_hop"] * hop)
        args["feature_extractor"]["init_args"]["vq_bins"] = SMALL["vq_bins"]
    return config


def speech_24k(seconds: float) -> np.ndarray:
    from workers.media.audio.io import resample

    pcm = np.fromfile(SPEECH, dtype="<i2").astype(np.float32) / 32768.0
    return resample(pcm[: int(seconds * 8000)], 8000, 24000)


def random_official_checkpoint(
    official_cls: Any, config_path: Path, ckpt: Path, *, seed: int, clip: np.ndarray
) -> None:
    """Random weights in the official model, saved the way Lightning saves a training checkpoint."""
    import torch

    torch.manual_seed(seed)
    model = official_cls.from_hparams0802(str(config_path)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
        # The codebook: the clip's own encoder frames, each copied many times with noise at a tenth of the frames'
        # spread, so that most frames get a code of their own and the nearest-code search has to separate close
        # candidates (a random codebook would map every frame to a handful of codes).
        frames = model.feature_extractor.encodec.encoder(torch.from_numpy(clip)[None, None])[0].T
        spread = frames.std(dim=0, correction=0, keepdim=True) + 1e-3 * frames.abs().mean()  # 1 frame: std 0
        for layer in model.feature_extractor.encodec.quantizer.vq.layers:
            book = layer._codebook
            picks = torch.randint(0, frames.shape[0], (book.embed.shape[0],))
            book.embed.copy_(frames[picks] + 0.1 * spread * torch.randn_like(book.embed))
            book.embed_avg.copy_(book.embed)
            book.cluster_size.copy_(torch.rand_like(book.cluster_size) * 10)
            book.inited.fill_(1.0)
    state = dict(model.state_dict())
    state["multiperioddisc.discriminators.0.convs.0.weight"] = torch.zeros(2, 2)  # a training-only key
    torch.save({"epoch": 1, "global_step": 10, "state_dict": state}, ckpt)


def compare(official_cls: Any, name: str, config: dict[str, Any], wave: np.ndarray, work: Path, seed: int) -> list[str]:
    import torch

    from workers.media.audio.wavtokenizer.convert import convert
    from workers.media.audio.wavtokenizer.loader import frames_for, load_model
    from workers.media.audio.wavtokenizer.tokenizer import WavTokenizer as OurTokenizer

    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    config_path, ckpt = folder / "official.yaml", folder / "official.ckpt"
    config_path.write_text(yaml.safe_dump(config))
    random_official_checkpoint(official_cls, config_path, ckpt, seed=seed, clip=wave)

    official = official_cls.from_pretrained0802(str(config_path), str(ckpt))
    bandwidth = torch.tensor([0])
    x = torch.from_numpy(wave)[None]
    start = time.perf_counter()
    features, official_codes = official.encode_infer(x, bandwidth_id=bandwidth)
    official_audio = official.decode(features, bandwidth_id=bandwidth)
    official_s = time.perf_counter() - start
    official_from_codes = official.decode(official.codes_to_features(official_codes), bandwidth_id=bandwidth)

    ours_folder = convert(ckpt, folder / "converted", config=config_path)
    model = load_model(ours_folder)
    start = time.perf_counter()
    with torch.inference_mode():
        codes = model.encode(x)
        audio = model.decode(model.codes_to_features(codes))
    ours_s = time.perf_counter() - start
    tokenizer = OurTokenizer(model, folder=ours_folder)
    tokens = tokenizer.encode(wave, 24000)
    product_audio = tokenizer.decode(tokens)

    same_codes = bool(torch.equal(codes, official_codes))
    diff = float((audio - official_audio).abs().max())
    diff_codes_path = float((audio - official_from_codes).abs().max())
    product_diff = float(np.abs(product_audio - official_audio[0, : wave.size].numpy()).max())
    peak = float(official_audio.abs().max())
    frames = official_codes.shape[-1]
    distinct = int(torch.unique(official_codes).numel())
    verdict = "same" if same_codes and max(diff, diff_codes_path, product_diff) <= TOLERANCE else "DIFFERENT"
    print(f"{name}: codes same={same_codes} max|diff|={diff:.3g} (peak {peak:.3g}) -> {verdict}", flush=True)
    assert frames == frames_for(wave.size, model.config)
    return [
        name,
        f"{model.config.frame_rate:g}",
        f"{wave.size / 24000:.2f} s",
        f"{frames} ({distinct} distinct)",
        "identical" if same_codes else f"{int((codes != official_codes).sum())} differ",
        f"{diff:.2e}",
        f"{diff_codes_path:.2e}",
        f"{product_diff:.2e}",
        f"{peak:.2f}",
        f"{official_s:.2f} / {ours_s:.2f}",
        verdict,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official", type=Path, default=os.environ.get("WAVTOKENIZER_OFFICIAL"))
    parser.add_argument("--quick", action="store_true", help="only the small variants (no full-size models)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--no-docs", action="store_true", help="print the table without writing docs/media.md")
    args = parser.parse_args()
    if args.official is None or not (args.official / "decoder" / "pretrained.py").is_file():
        parser.error("give --official (or WAVTOKENIZER_OFFICIAL): a checkout of github.com/jishengpeng/WavTokenizer")
    import torch

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    official_cls, torchaudio_state = import_official(args.official)
    revision = official_revision(args.official)
    wave = speech_24k(args.seconds)
    odd = wave[: 24000 // 3 + 7]  # not a whole number of frames
    tiny = wave[:100]  # shorter than the encoder's reflect padding
    cases = []
    for path, rate in ((FRAME40, 40), (FRAME75, 75)):
        base = yaml.safe_load((args.official / path).read_text())
        cases.append((f"small-{rate}", variant(base, small=True), wave))
        cases.append((f"small-{rate}, odd length", variant(base, small=True), odd))
        cases.append((f"small-{rate}, 100 samples", variant(base, small=True), tiny))
        if not args.quick:
            cases.append((f"official {rate} (full size)", variant(base, small=False), wave))
    rows = []
    with tempfile.TemporaryDirectory(prefix="wavtok-compare-") as tmp:
        for seed, (name, config, clip) in enumerate(cases):
            rows.append(compare(official_cls, name, config, clip, Path(tmp), seed))
    headers = [
        "config",
        "tokens/s",
        "clip",
        "frames",
        "codes vs official",
        "max abs diff, audio",
        "… via codes_to_features",
        "… product API (trimmed)",
        "peak abs audio",
        "seconds official / ours (noisy: shared CPU)",
        f"within {TOLERANCE:g}",
    ]
    body = (
        table(headers, rows) + f"\n\nOfficial code: commit {revision}; torch {torch.__version__}, float32 CPU; "
        f"torchaudio: {torchaudio_state}. Small variants: backbone dim {SMALL['dim']}, intermediate "
        f"{SMALL['intermediate_dim']}, {SMALL['num_layers']} ConvNeXt layers, n_fft {SMALL['n_fft_per_hop']} x hop, "
        f"{SMALL['vq_bins']} codes (the encoder is the official fixed one). Speech: {SPEECH.name} from "
        "codec2-examples, resampled 8 -> 24 kHz. Weights random (see bench/official_wavtokenizer.py)."
    )
    print(body)
    if not args.no_docs:
        write_section("wavtokenizer-official", body, doc=DOC)


if __name__ == "__main__":
    main()
