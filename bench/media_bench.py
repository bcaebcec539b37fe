"""Image and audio tokenizers: encode and decode throughput through the product's pipeline against the same
tokenizer called directly, in one run, interleaved.

    .venv/bin/python -m bench.media_bench [--quick] [--no-write]

For each installed tokenizer that needs no checkpoint reference:
- direct, tokens only: decode the file (``load_image`` / ``load_audio``), ``encode``, ``decode`` (all tokens);
- direct, same work by hand: a script making the same library calls the job makes for the page (metrics, files,
  spectrogram, peaks, usage), without the pipeline;
- product: ``workers.pipelines.media_tokenize.run`` on the same file with that tokenizer alone, as a job runs it:
  the same decode/encode/decode plus what the page shows (original and reconstruction files, PSNR/SSIM or SNR, mel
  distance, PESQ, STOI, spectrogram, waveform peaks, codebook usage, codes.npz, the manifest). Image strips are
  reconstructed at every token count only (``ks`` = [n], no per-token contributions), so both sides decode once.
Throughput: images, or seconds of audio, per CPU second (user + system time of the process and of the child
processes Codec 2 and LPCNet decode in): the shared machine's load swings wall times by tens of percent. The product's overhead = product time / same work by
hand - 1 (target < 10%); the cost of the views = product time / tokens only - 1 (what the analysis costs). The job
system around the pipeline (queue, database, websocket) is not in these numbers (bench/tokenize_bench.py measures
that path for text). The table is written into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import table, write_section

IMAGES = ("astronaut.png", "coffee.png", "chelsea.png")  # scikit-image's samples (PNG, 300-512 px)
SPEECH = ("hts1a.raw", "hts2a.raw", "mmt1.raw", "morig.raw")  # codec2-examples, 8 kHz real speech


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children: on a shared machine whose load swings,
    CPU time measures the work; wall time measures the neighbours too."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _inputs(folder: Path) -> tuple[list[Path], Path, float]:
    import skimage.data

    from workers.media.audio.io import write_wav

    samples = Path(skimage.data.__file__).parent
    images = []
    for name in IMAGES:
        target = folder / name
        target.write_bytes((samples / name).read_bytes())
        images.append(target)
    pcm = np.concatenate([np.fromfile(Path("/usr/share/codec2/raw") / name, dtype="<i2") for name in SPEECH])
    wave = (pcm / 32768.0).astype(np.float32)
    clip = folder / "speech.wav"
    write_wav(clip, wave, 8000)
    return images, clip, wave.size / 8000


def _direct(tokenizer: Any, modality: str, paths: list[Path]) -> float:
    from workers.media.audio.io import load_audio
    from workers.media.image.io import load_image

    started = cpu_seconds()
    for path in paths:
        if modality == "image":
            tokens = tokenizer.encode(load_image(path))
        else:
            loaded = load_audio(path, max_seconds=600)
            tokens = tokenizer.encode(loaded.wave, loaded.sample_rate)
        if tokenizer.info.has_decoder:
            tokenizer.decode(tokens)
    return cpu_seconds() - started


def _direct_same_work(tokenizer: Any, modality: str, paths: list[Path], folder: Path) -> float:
    """A script doing by hand what the job shows: the same library calls as the pipeline, without the pipeline."""
    from workers.media.audio.io import load_audio, spectrogram_png, waveform_peaks, write_wav
    from workers.media.audio.metrics import reconstruction_metrics
    from workers.media.image.io import load_image, write_png
    from workers.media.image.metrics import psnr, ssim
    from workers.media.usage import codebook_usage

    out = folder / f"by-hand-{time.monotonic_ns()}"
    out.mkdir()
    started = cpu_seconds()
    for index, path in enumerate(paths):
        if modality == "image":
            image = load_image(path)
            write_png(out / f"{index}-original.png", image)
            tokens = tokenizer.encode(image)
            codebook_usage(np.asarray(tokens.codes).reshape(-1), tokenizer.info.codebook_sizes[0])
            if tokenizer.info.has_decoder:
                recon = tokenizer.decode(tokens)
                fitted = tokenizer.preprocess(image) if hasattr(tokenizer, "preprocess") else image
                reference = fitted[0] if isinstance(fitted, tuple) else fitted
                psnr(reference, recon), ssim(reference, recon)
                write_png(out / f"{index}-recon.png", recon)
        else:
            loaded = load_audio(path, max_seconds=600)
            write_wav(out / f"{index}-original.wav", loaded.wave, loaded.sample_rate)
            spectrogram_png(out / f"{index}-spectrogram.png", loaded.wave, loaded.sample_rate)
            waveform_peaks(loaded.wave, n=1000)
            tokens = tokenizer.encode(loaded.wave, loaded.sample_rate)
            codes = np.asarray(tokens.codes).reshape(len(tokenizer.info.codebook_sizes), -1)
            for row, size in zip(codes, tokenizer.info.codebook_sizes, strict=True):
                codebook_usage(row, size)
            if tokenizer.info.has_decoder:
                recon = tokenizer.decode(tokens)
                write_wav(out / f"{index}-recon.wav", recon, tokens.sample_rate)
                reconstruction_metrics(loaded.wave, loaded.sample_rate, recon, tokens.sample_rate)
    return cpu_seconds() - started


def _product(tokenizer_id: str, modality: str, paths: list[Path], folder: Path) -> tuple[float, float]:
    """(wall seconds, of which in the tokenizer's encode and decode calls)."""
    from workers.pipelines.media_tokenize import run

    inside = 0.0
    started = cpu_seconds()
    for index, path in enumerate(paths):
        inputs: dict[str, Any] = {
            "modality": modality,
            "path": str(path),
            "filename": path.name,
            "tokenizers": [{"id": tokenizer_id}],
            "seed": 0,
            "artifact_dir": str(folder / f"{tokenizer_id.replace('/', '-')}-{index}-{time.monotonic_ns()}"),
        }
        if modality == "image":
            inputs.update(max_pixels=40_000_000, ks=[4096], contributions=False)
        else:
            inputs["max_seconds"] = 600.0
        result = run(inputs, lambda *_, **__: None)
        entry = result["tokenizers"][0]
        if entry["error"]:
            raise RuntimeError(f"{tokenizer_id}: {entry['error']}")
        inside += entry["timing"]["encode_s"] + entry["timing"]["decode_s"]
    return cpu_seconds() - started, inside


def _best(samples: list[float]) -> float:
    return min(samples)


def _paired(product: list[float], by_hand: list[float]) -> str:
    """The median over repetitions of product / by-hand - 1, each pair measured back to back (the shared machine's
    load swings by tens of percent between minutes), with the range."""
    ratios = sorted((p / h - 1) * 100 for p, h in zip(product, by_hand, strict=True))
    return f"{statistics.median(ratios):+.0f}% ({ratios[0]:+.0f} … {ratios[-1]:+.0f})"


def measure(repeats: int, only: str | None = None) -> list[list[str]]:
    from workers.media.catalog import media_entries

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        images, clip, clip_s = _inputs(folder)
        for tokenizer_id, entry in media_entries().items():
            if entry.needs_ref or not entry.status().installed or (only and only not in tokenizer_id):
                continue
            modality = entry.info.modality
            paths = images if modality == "image" else [clip]
            tokenizer = entry.load(None)
            # Warm-up of every side: libraries, caches, the manifest's one-time product identity (git).
            _direct(tokenizer, modality, paths[:1])
            _direct_same_work(tokenizer, modality, paths[:1], folder)
            _product(tokenizer_id, modality, paths[:1], folder)
            direct: list[float] = []
            by_hand: list[float] = []
            product: list[float] = []
            inside: list[float] = []
            for _ in range(repeats):  # interleaved, so a load change on the machine hits both sides
                direct.append(_direct(tokenizer, modality, paths))
                by_hand.append(_direct_same_work(tokenizer, modality, paths, folder))
                wall, spent = _product(tokenizer_id, modality, paths, folder)
                product.append(wall)
                inside.append(spent)
            amount = len(paths) if modality == "image" else clip_s
            unit = "images per CPU s" if modality == "image" else "audio s per CPU s"
            d, h, p = _best(direct), _best(by_hand), _best(product)
            rows.append(
                [
                    tokenizer_id,
                    unit,
                    f"{amount / d:.2f}",
                    f"{amount / h:.2f}",
                    f"{amount / p:.2f}",
                    _paired(product, by_hand),
                    f"{(p / d - 1) * 100:+.0f}%",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one repetition (a smoke run)")
    parser.add_argument("--only", help="only tokenizer ids containing this")
    parser.add_argument("--no-write", action="store_true", help="print, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    repeats = 1 if args.quick else 5
    rows = measure(repeats, args.only)
    headers = [
        "tokenizer",
        "unit",
        "direct: tokens + reconstruction",
        "direct: same work by hand",
        "product pipeline",
        "overhead vs same work (median of pairs, range)",
        "cost of the views vs tokens only",
    ]
    body = (
        f"{table(headers, rows)}\n\nCPU time (user + system, with child processes). Throughputs: best of {repeats} "
        "interleaved runs; 3 images (scikit-image samples, "
        f"300-512 px) or 12 s of codec2-examples speech (8 kHz). Load average at the start: "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (a shared machine). Reproduce: "
        "`.venv/bin/python -m bench.media_bench`."
    )
    print(body)
    if not args.no_write:
        write_section("media", body)


if __name__ == "__main__":
    main()
