"""The distill_draft job: validation with user-facing messages, and a full run on a tiny local target folder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from workers.decoding.errors import DecodingInputError
from workers.pipelines import distill_draft


def inputs(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return {"target": "smollm2-135m-instruct", "output_dir": str(tmp_path / "draft"), **overrides}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target": ""}, "Choose a target model"),
        ({"target": None}, "Choose a target model"),
        ({"num_layers": 1}, "num_layers must be between 2 and 8"),
        ({"num_layers": 9}, "num_layers must be between 2 and 8"),
        ({"num_layers": 2.5}, "num_layers must be a whole number"),
        ({"num_layers": True}, "num_layers must be a whole number"),
        ({"num_sequences": 7}, "num_sequences must be between 8 and 2048"),
        ({"num_sequences": 4096}, "num_sequences must be between 8 and 2048"),
        ({"max_new_tokens": 8}, "max_new_tokens must be between 16 and 256"),
        ({"max_steps": 0}, "max_steps must be between 1 and 20000"),
        ({"time_budget_s": 5}, "time_budget_s must be a number of seconds between 10 and 3600"),
        ({"time_budget_s": "60"}, "time_budget_s must be a number of seconds between 10 and 3600"),
        ({"seed": -1}, "seed must be between 0"),
        ({"prompts": "write a poem"}, "prompts must be a list of strings"),
        ({"prompts": ["ok", "  "]}, "Prompt 2 must be a non-empty string"),
        ({"prompts": ["x" * 5000]}, "Prompt 1 is longer than 4000 characters"),
        ({"output_dir": ""}, "Choose an output folder"),
        ({"output_dir": "relative/draft"}, "output_dir must be an absolute path"),
        ({"layer_selection": "middle"}, "layer_selection must be one of"),
    ],
)
def test_bad_parameters_raise_user_facing_errors(tmp_path: Path, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(DecodingInputError, match=message):
        distill_draft.parse_inputs(inputs(tmp_path, **overrides))


def test_defaults(tmp_path: Path) -> None:
    params = distill_draft.parse_inputs(inputs(tmp_path, prompts=[" Summarise this. "]))
    assert (params.num_layers, params.num_sequences, params.max_new_tokens) == (4, 128, 96)
    assert (params.max_steps, params.time_budget_s, params.seed) == (300, 600.0, 0)
    assert params.prompts == ("Summarise this.",)
    assert params.output_dir == tmp_path / "draft"


def test_refuses_to_write_into_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "draft").mkdir()
    (tmp_path / "draft" / "notes.txt").write_text("keep me")
    with pytest.raises(DecodingInputError, match="already exists and is not an empty folder"):
        distill_draft.parse_inputs(inputs(tmp_path))
    (tmp_path / "file").write_text("")
    with pytest.raises(DecodingInputError, match="already exists"):
        distill_draft.parse_inputs(inputs(tmp_path, output_dir=str(tmp_path / "file")))


def test_unknown_target_is_a_user_facing_error(tmp_path: Path) -> None:
    with pytest.raises(DecodingInputError, match="cannot be used"):
        distill_draft.run(inputs(tmp_path, target=str(tmp_path / "no-such-model")))


def test_draft_must_be_shallower_than_the_target(tmp_path: Path, target_dir: Path) -> None:
    with pytest.raises(DecodingInputError, match="smaller than the target's 6 layers"):
        distill_draft.run(inputs(tmp_path, target=str(target_dir), num_layers=6))


def test_full_run_saves_a_draft_the_speculative_pipeline_accepts(tmp_path: Path, target_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    from workers.pipelines import speculative

    reports: list[tuple[float, str, Any]] = []
    out = tmp_path / "draft"
    summary = distill_draft.run(
        inputs(
            tmp_path,
            target=str(target_dir),
            num_layers=2,
            prompts=["w5 w6 w7", "w8 w9 w10 w11"],
            num_sequences=32,
            max_new_tokens=16,
            max_steps=250,
            seed=1,
        ),
        lambda p, m, partial=None: reports.append((p, m, partial)),
    )
    json.dumps(summary)  # the job record stores it as JSON
    assert summary["output_dir"] == str(out)
    assert summary["draft"]["architecture"] == "LlamaForCausalLM"
    assert summary["draft"]["num_layers"] == 2 and summary["draft"]["source_layers"] == [0, 1]
    assert summary["draft"]["parameters"] < summary["draft"]["target_parameters"]
    assert summary["data"]["chat_template"] is True
    assert summary["data"]["train_sequences"] + summary["data"]["heldout_sequences"] == 32
    assert summary["training"]["steps"] == 250
    assert len(summary["training"]["losses"]) == 200  # downsampled curve
    assert summary["training"]["losses"][-1]["step"] == 250
    assert 0.0 <= summary["agreement"]["before"] <= 1.0 and 0.0 <= summary["agreement"]["after"] <= 1.0
    progress = [p for p, _, _ in reports]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert any(partial and set(partial) == {"step", "loss", "acceptance_estimate"} for _, _, partial in reports)

    run_manifest = summary["manifest"]  # the result's manifest: parameters, target files, the saved draft's hashes
    assert run_manifest["parameters"]["seed"] == 1 and run_manifest["parameters"]["num_layers"] == 2
    assert run_manifest["models"][0]["files"] and run_manifest["libraries"]["torch"]
    saved = {f["name"]: f["sha256"] for f in run_manifest["output"]["files"]}
    assert saved["model.safetensors"] == hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
    manifest = json.loads((out / "tokenscope_draft.json").read_text())
    assert manifest["target"] == str(target_dir) and manifest["steps"] == 250
    assert manifest["heldout_agreement_after"] == summary["agreement"]["after"]
    assert AutoModelForCausalLM.from_pretrained(out).config.num_hidden_layers == 2

    result = speculative.run(
        {
            "target": str(target_dir),
            "drafter": {"kind": "draft_model", "model": str(out)},
            "prompt": "w5 w6 w7 w8",
            "gamma": 4,
            "max_new_tokens": 24,
        }
    )
    assert result["trace"]["summary"]["output_matches_baseline"] is True


def test_downsample_keeps_short_curves_and_averages_long_ones() -> None:
    short = [{"step": i, "loss": float(i), "ce": 0.0, "kl": 0.0} for i in range(1, 11)]
    assert distill_draft.downsample(short) == [{"step": i, "loss": float(i)} for i in range(1, 11)]
    long = [{"step": i, "loss": 1.0} for i in range(1, 1001)]
    points = distill_draft.downsample(long)
    assert len(points) == 200 and points[-1] == {"step": 1000, "loss": 1.0}
