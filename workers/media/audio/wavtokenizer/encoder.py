"""WavTokenizer's feature extractor: EnCodec's SEANet encoder and a Euclidean vector quantizer (inference only).

Our own modules, laid out so that their parameter names are the official state-dict keys under
``feature_extractor.encodec.`` (``encoder.model.<i>...``, ``quantizer.vq.layers.<i>._codebook...``): the Sequential
indices include the parameter-free activations, and weight-normalised convolutions keep ``weight_g``/``weight_v``.
EnCodec's SEANet decoder is also in the official files; inference never runs it, so it is not built here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from workers.media.audio.wavtokenizer.config import ENCODER_DIMENSION, ENCODER_FILTERS, ENCODER_LSTM_LAYERS


def pad_reflect(x: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Reflect padding that also works on inputs shorter than the pad (zero-extend first, then drop the extension):
    EnCodec's rule, which decides what a clip of a few samples encodes to."""
    length = x.shape[-1]
    extension = max(0, max(left, right) - length + 1)
    if extension:
        x = F.pad(x, (0, extension))
    padded = F.pad(x, (left, right), mode="reflect")
    return padded[..., : padded.shape[-1] - extension]


class WeightNormConv1d(nn.Module):
    """Conv1d stored as direction ``weight_v`` and per-output-channel norm ``weight_g`` (old-style weight_norm keys)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, dilation: int) -> None:
        super().__init__()
        self.weight_g = nn.Parameter(torch.ones(out_channels, 1, 1))
        self.weight_v = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.stride = stride
        self.dilation = dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = torch._weight_norm(self.weight_v, self.weight_g, 0)  # g * v / ||v||, norm over all but dim 0
        return F.conv1d(x, weight, self.bias, stride=self.stride, dilation=self.dilation)


class NormConv(nn.Module):
    """The ``conv`` level of EnCodec's NormConv1d (its ``norm`` is an identity for weight_norm)."""

    def __init__(self, conv: WeightNormConv1d) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class PaddedConv1d(nn.Module):
    """Non-causal conv with EnCodec's "same"-style padding: the total pad is kernel - stride (split with the extra
    sample on the left for odd totals), plus enough on the right that the last window is full, so a clip of n
    samples gives ceil(n / stride) frames."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = NormConv(WeightNormConv1d(in_channels, out_channels, kernel_size, stride, dilation))
        self.effective_kernel = (kernel_size - 1) * dilation + 1
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1]
        pad_total = self.effective_kernel - self.stride
        frames = math.ceil((length - self.effective_kernel + pad_total) / self.stride + 1)
        extra = (frames - 1) * self.stride + self.effective_kernel - pad_total - length
        right = pad_total // 2
        return self.conv(pad_reflect(x, pad_total - right, right + extra))


class ResidualUnit(nn.Module):
    """SEANet residual block: ELU, k=3 conv to half width, ELU, k=1 conv back; a k=1 conv as the skip path."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        hidden = channels // 2
        self.block = nn.Sequential(
            nn.ELU(), PaddedConv1d(channels, hidden, 3, dilation=dilation), nn.ELU(), PaddedConv1d(hidden, channels, 1)
        )
        self.shortcut = PaddedConv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.block(x)


class LSTMWithSkip(nn.Module):
    """A stacked LSTM over time on (batch, channels, time), added to its input."""

    def __init__(self, channels: int, num_layers: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(channels, channels, num_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x.permute(2, 0, 1))
        return y.permute(1, 2, 0) + x


class SEANetEncoder(nn.Module):
    """Waveform (batch, 1, samples) -> embeddings (batch, 512, ceil(samples / hop)). ``downsamples`` as in the file;
    the stages run in reverse order (EnCodec lists the decoder's upsampling order)."""

    def __init__(self, downsamples: tuple[int, ...]) -> None:
        super().__init__()
        width = ENCODER_FILTERS
        layers: list[nn.Module] = [PaddedConv1d(1, width, 7)]
        for stride in reversed(downsamples):
            layers += [ResidualUnit(width, dilation=1), nn.ELU(), PaddedConv1d(width, width * 2, stride * 2, stride)]
            width *= 2
        layers += [LSTMWithSkip(width, ENCODER_LSTM_LAYERS), nn.ELU(), PaddedConv1d(width, ENCODER_DIMENSION, 7)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class EuclideanCodebook(nn.Module):
    """One codebook; the buffers carry the official names (``cluster_size``/``embed_avg`` are training state, loaded
    only so that the key set is the official one; ``inited`` must be 1: an uninitialised codebook is all zeros and
    the official code would run k-means on the input instead of encoding it)."""

    def __init__(self, codebook_size: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("inited", torch.zeros(1))
        self.register_buffer("cluster_size", torch.zeros(codebook_size))
        self.register_buffer("embed", torch.zeros(codebook_size, dim))
        self.register_buffer("embed_avg", torch.zeros(codebook_size, dim))
        self.embed: torch.Tensor

    def nearest(self, vectors: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each row of ``vectors`` (n, dim). The squared distance is expanded as
        |x|^2 - 2 x.e + |e|^2, in that order, so that near-ties resolve as in the official code."""
        codes_t = self.embed.t()
        distance = vectors.pow(2).sum(1, keepdim=True) - 2 * vectors @ codes_t + codes_t.pow(2).sum(0, keepdim=True)
        return (-distance).max(dim=-1).indices


class VectorQuantizer(nn.Module):
    def __init__(self, codebook_size: int, dim: int) -> None:
        super().__init__()
        self._codebook = EuclideanCodebook(codebook_size, dim)


class CodebookStack(nn.Module):
    def __init__(self, num_quantizers: int, codebook_size: int, dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(VectorQuantizer(codebook_size, dim) for _ in range(num_quantizers))


class Quantizer(nn.Module):
    """WavTokenizer's quantizer: codebooks stored like EnCodec's residual VQ, but inference uses only the first."""

    def __init__(self, num_quantizers: int, codebook_size: int, dim: int) -> None:
        super().__init__()
        self.vq = CodebookStack(num_quantizers, codebook_size, dim)

    def codebook(self, index: int) -> EuclideanCodebook:
        codebook = self.vq.layers[index]._codebook
        assert isinstance(codebook, EuclideanCodebook)
        return codebook

    def encode(self, embeddings: torch.Tensor) -> torch.Tensor:
        """(batch, dim, frames) -> codes (1, batch, frames)."""
        batch, dim, frames = embeddings.shape
        vectors = embeddings.transpose(1, 2).reshape(batch * frames, dim)
        return self.codebook(0).nearest(vectors).view(1, batch, frames)

    def features(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (n_q, batch, frames) -> features (batch, dim, frames): the codebook vectors, summed over rows."""
        books = [self.codebook(i).embed for i in range(codes.shape[0])]
        summed = torch.stack([F.embedding(row, book) for row, book in zip(codes, books, strict=True)]).sum(0)
        return summed.transpose(1, 2)


class EncodecParts(nn.Module):
    def __init__(self, downsamples: tuple[int, ...], num_quantizers: int, codebook_size: int) -> None:
        super().__init__()
        self.encoder = SEANetEncoder(downsamples)
        self.quantizer = Quantizer(num_quantizers, codebook_size, ENCODER_DIMENSION)


class FeatureExtractor(nn.Module):
    def __init__(self, downsamples: tuple[int, ...], num_quantizers: int, codebook_size: int) -> None:
        super().__init__()
        self.encodec = EncodecParts(downsamples, num_quantizers, codebook_size)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """(batch, samples) at 24 kHz -> codes (1, batch, frames)."""
        return self.encodec.quantizer.encode(self.encodec.encoder(wave.unsqueeze(1)))
