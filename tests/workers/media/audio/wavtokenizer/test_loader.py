"""WavTokenizer config and checkpoint loading: official key layout, safetensors only, hostile files refused."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tests.workers.media.audio.wavtokenizer.checkpoints import (
    edited,
    official_config,
    random_state,
    write_config,
    write_official_ckpt,
)
from workers.media.audio.wavtokenizer.config import InvalidCheckpointError, parse_config, read_config
from workers.media.audio.wavtokenizer.convert import convert, main
from workers.media.audio.wavtokenizer.loader import (
    UNUSED_PREFIXES,
    expected_tensors,
    load_model,
)
from workers.media.types import MediaInputError

OFFICIAL_SHAPES = json.loads((Path(__file__).parent / "official_state_dict_shapes.json").read_text())


@pytest.fixture(scope="module")
def state40() -> dict[str, torch.Tensor]:
    """Random weights for the small 40-token config, built once (tests copy the dict before changing it)."""
    return random_state(official_config(40))


def folder_with(tmp_path: Path, config: dict, state: dict[str, torch.Tensor]) -> Path:
    folder = tmp_path / "ckpt"
    folder.mkdir(exist_ok=True)
    write_config(folder / "config.yaml", config)
    save_file(state, str(folder / "model.safetensors"))
    return folder


@pytest.mark.parametrize("rate", [40, 75])
def test_model_has_exactly_the_official_state_dict_keys_and_shapes(rate: int) -> None:
    """Catches a renamed module, a dropped parameter or a stride order that differs from the official network
    (the reference shapes were produced by the official code from its own configs)."""
    official = {
        name: tuple(shape)
        for name, shape in OFFICIAL_SHAPES["state_dict_shapes"][str(rate)].items()
        if not name.startswith(UNUSED_PREFIXES)
    }
    assert expected_tensors(parse_config(official_config(rate, full=True))) == official


def test_converted_checkpoint_loads_every_tensor_unchanged(tmp_path: Path) -> None:
    """Catches a converter or loader that drops, renames or alters a tensor (all tensors are compared)."""
    config_path = write_config(tmp_path / "official.yaml", official_config(40))
    state = write_official_ckpt(tmp_path / "official.ckpt", official_config(40))
    assert main([str(tmp_path / "official.ckpt"), str(tmp_path / "out"), "--config", str(config_path)]) == 0
    loaded = load_model(tmp_path / "out").state_dict()
    assert set(loaded) == set(state)
    for name, tensor in state.items():
        assert torch.equal(loaded[name], tensor), name


def test_converter_refuses_a_pickled_code_object(tmp_path: Path) -> None:
    """Catches a converter that unpickles arbitrary objects (it must use torch.load(weights_only=True))."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple:
            return (Path.touch, (marker,))

    torch.save({"state_dict": {"x": Payload()}}, tmp_path / "evil.ckpt")
    config_path = write_config(tmp_path / "official.yaml", official_config(40))
    with pytest.raises(pickle.UnpicklingError):
        convert(tmp_path / "evil.ckpt", tmp_path / "out", config=config_path)
    assert main([str(tmp_path / "evil.ckpt"), str(tmp_path / "out"), "--config", str(config_path)]) == 1
    assert not marker.exists()


def test_folder_with_only_a_ckpt_is_refused_with_the_convert_command(tmp_path: Path) -> None:
    """Catches a loader that would fall back to unpickling the official .ckpt it finds."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    write_config(folder / "config.yaml", official_config(40))
    (folder / "wavtokenizer_large_speech_320_24k.ckpt").write_bytes(b"PK\x03\x04")
    with pytest.raises(InvalidCheckpointError, match="convert"):
        load_model(folder)


def test_a_pickle_named_model_safetensors_is_never_unpickled(tmp_path: Path) -> None:
    """Catches a loader that reads the weights file with anything but the safetensors parser."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple:
            return (Path.touch, (marker,))

    folder = tmp_path / "ckpt"
    folder.mkdir()
    write_config(folder / "config.yaml", official_config(40))
    (folder / "model.safetensors").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(InvalidCheckpointError, match="not a readable safetensors"):
        load_model(folder)
    assert not marker.exists()


@pytest.mark.parametrize(
    "class_path", ["builtins.eval", "os.system", "decoder.models.VocosResNetBackbone", "decoder.heads.ISTFTHead"]
)
def test_backbone_class_path_outside_the_allow_list_is_refused(class_path: str) -> None:
    """Catches a config reader that imports or accepts a class the file names (only VocosBackbone builds a
    backbone; a head class in the backbone's place is refused too)."""
    config = official_config(40)
    config["model"]["init_args"]["backbone"]["class_path"] = class_path
    with pytest.raises(InvalidCheckpointError, match="decoder.models.VocosBackbone"):
        parse_config(config)


@pytest.mark.parametrize(
    ("part", "change", "message"),
    [
        ("head", {"hop_length": 480}, "hop_length must equal the product"),
        ("backbone", {"dim": 48}, "multiple of 32"),
        ("backbone", {"input_channels": 256}, "input_channels"),
        ("feature_extractor", {"vq_bins": 1000}, "power of two"),
        ("head", {"n_fft": 600}, "n_fft must be larger"),
        ("backbone", {"num_layers": "12"}, "num_layers must be an integer"),
    ],
)
def test_inconsistent_config_is_refused_before_building(part: str, change: dict, message: str) -> None:
    """Catches a config whose shapes the official model would only trip over deep inside a forward pass."""
    with pytest.raises(InvalidCheckpointError, match=message):
        parse_config(edited(official_config(40), part, **change))


def test_bare_layout_and_the_training_layout_read_the_same() -> None:
    """Catches a reader that only understands one of the two layouts the official loaders read."""
    training = official_config(75)
    bare = {part: training["model"]["init_args"][part] for part in ("feature_extractor", "backbone", "head")}
    assert parse_config(bare) == parse_config(training)
    assert parse_config(bare).frame_rate == 75


def test_oversized_or_broken_yaml_is_a_clear_error(tmp_path: Path) -> None:
    """Catches a reader that parses a huge file or lets a YAML error escape as a crash."""
    big = tmp_path / "big.yaml"
    big.write_text("x: " + "a" * 300_000)
    with pytest.raises(InvalidCheckpointError, match="limit"):
        read_config(big)
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed")
    with pytest.raises(InvalidCheckpointError, match="not valid YAML"):
        read_config(broken)
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text("model: !!python/object/apply:os.system ['true']")
    with pytest.raises(InvalidCheckpointError):
        read_config(tagged)


def test_shape_mismatch_is_refused_naming_the_tensor(tmp_path: Path, state40: dict[str, torch.Tensor]) -> None:
    """Catches a loader that would load weights of another size (or fail with a raw torch error)."""
    state = dict(state40)
    folder = folder_with(tmp_path, edited(official_config(40), "backbone", intermediate_dim=96), state)
    with pytest.raises(InvalidCheckpointError, match=r"backbone\.convnext\.0\.pwconv1\.weight: \[128, 64\]"):
        load_model(folder)


def test_missing_and_unexpected_tensors_are_refused(tmp_path: Path, state40: dict[str, torch.Tensor]) -> None:
    """Catches a non-strict load (a missing tensor left at its initial value, or a stray tensor ignored)."""
    state = dict(state40)
    missing = {k: v for k, v in state.items() if k != "head.out.bias"}
    with pytest.raises(InvalidCheckpointError, match=r"1 missing tensors \(e\.g\. head\.out\.bias\)"):
        load_model(folder_with(tmp_path, official_config(40), missing))
    extra = dict(state, **{"backbone.extra.weight": torch.zeros(2)})
    with pytest.raises(InvalidCheckpointError, match="backbone.extra.weight"):
        load_model(folder_with(tmp_path, official_config(40), extra))


def test_encodec_decoder_tensors_are_accepted_and_skipped(tmp_path: Path, state40: dict[str, torch.Tensor]) -> None:
    """Catches a loader that refuses the full official state dict (it carries EnCodec's unused decoder)."""
    state = dict(state40)
    full = dict(state, **{"feature_extractor.encodec.decoder.model.15.conv.conv.bias": torch.zeros(1)})
    model = load_model(folder_with(tmp_path, official_config(40), full))
    assert torch.equal(model.state_dict()["head.out.bias"], state["head.out.bias"])


def test_integer_tensors_and_nan_weights_are_refused(tmp_path: Path, state40: dict[str, torch.Tensor]) -> None:
    """Catches a loader that casts any dtype silently or loads NaN weights that decode to NaN audio."""
    state = dict(state40)
    with pytest.raises(InvalidCheckpointError, match="dtypes"):
        load_model(
            folder_with(tmp_path, official_config(40), dict(state, **{"head.out.bias": state["head.out.bias"].long()}))
        )
    poisoned = state["head.out.bias"].clone()
    poisoned[0] = float("nan")
    with pytest.raises(InvalidCheckpointError, match="NaN"):
        load_model(folder_with(tmp_path, official_config(40), dict(state, **{"head.out.bias": poisoned})))


def test_uninitialised_codebook_is_refused(tmp_path: Path, state40: dict[str, torch.Tensor]) -> None:
    """Catches loading an untrained checkpoint, on which the official code would run k-means on the user's clip."""
    state = dict(state40)
    state["feature_extractor.encodec.quantizer.vq.layers.0._codebook.inited"] = torch.zeros(1)
    with pytest.raises(InvalidCheckpointError, match="never initialised"):
        load_model(folder_with(tmp_path, official_config(40), state))


def test_checkpoint_errors_are_input_errors() -> None:
    """Catches a checkpoint error type that the media job would report as a server crash instead of a 4xx."""
    assert issubclass(InvalidCheckpointError, MediaInputError)
