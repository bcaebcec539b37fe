"""What the detection pipelines share: their parameters, the models they load, sign conventions and the manifest.

Framework-free (no Django); torch is imported only by the model loader and the science in ``workers.detection``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from workers.detection import (
    FREQUENCY_TABLE,
    REFERENCE_MODEL,
    SCORES,
    SECOND_MODEL,
    DetectionInputError,
    DetectionModel,
    FrequencyTable,
    ScoreParams,
    required_inputs,
    score_texts,
)
from workers.manifest import MODEL_LIBRARIES, build_manifest, file_sha256, model_identity, torch_runtime
from workers.pipelines.model_loading import Loaded, Loader, default_loader

Report = Callable[..., None]

MAX_TEXTS = 20
"""Texts scored by one detect_text job."""
MAX_MODELS = 4
"""Models compared side by side in one job (each scores every text)."""
MAX_TEXT_CHARS = 100_000
"""Characters of one text (longer ones are refused; scoring truncates at ``max_tokens`` tokens anyway)."""
MAX_DATASET_ROWS = 10_000
MAX_BATCH_SIZE = 64
LENGTH_RULE = (
    "Texts longer than max_tokens (or the model's context, if smaller) are truncated to their first tokens; "
    "`truncated` says which."
)


class DetectionJobError(ValueError):
    """Bad detection input found in a worker; the message is for the user (the job runner shows it as it is)."""

    user_facing = True


@contextmanager
def user_errors() -> Iterator[None]:
    """The science's input errors become job errors a user reads as they are."""
    try:
        yield
    except DetectionInputError as exc:
        raise DetectionJobError(str(exc)) from exc


@dataclass(frozen=True)
class DetectParams:
    """The parsed inputs every detect job shares (the texts themselves come separately)."""

    models: tuple[str, ...]
    scores: tuple[str, ...]
    score_params: ScoreParams
    reference_model: str | None = None
    second_model: str | None = None
    frequency_table: Mapping[str, Any] | None = None
    """``{"id", "path", ...}`` of a built table (the app resolves the id to the team's file)."""
    batch_size: int = 8
    needs: frozenset[str] = field(default_factory=frozenset)

    def for_manifest(self) -> dict[str, Any]:
        table = dict(self.frequency_table) if self.frequency_table else None
        if table is not None:
            table.pop("path", None)  # never a server path in a result
        return {
            "models": list(self.models),
            "scores": list(self.scores),
            "params": asdict(self.score_params),
            "reference_model": self.reference_model,
            "second_model": self.second_model,
            "frequency_table": table,
            "batch_size": self.batch_size,
        }


_PARAM_NAMES = {f.name for f in fields(ScoreParams)}


def parse_score_params(raw: Any) -> ScoreParams:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise DetectionJobError('params must be an object such as {"k": 0.2}')
    unknown = sorted(set(raw) - _PARAM_NAMES)
    if unknown:
        raise DetectionJobError(f"unknown score parameters {unknown}; known: {sorted(_PARAM_NAMES)}")
    typed: dict[str, Any] = {}
    for f in fields(ScoreParams):
        if f.name in raw:
            value = raw[f.name]
            want = float if f.type in (float, "float") else int
            if isinstance(value, bool) or not isinstance(value, int | float) or (want is int and value != int(value)):
                raise DetectionJobError(f"{f.name} must be a {'number' if want is float else 'whole number'}")
            typed[f.name] = want(value)
    params = ScoreParams(**typed)
    with user_errors():
        params.validate()
    if params.max_tokens > 8192:
        raise DetectionJobError("max_tokens must be at most 8192")
    return params


def parse_detect_params(inputs: Mapping[str, Any]) -> DetectParams:
    """Validate what every detect job takes (the web calls this too, before queueing)."""
    models = inputs.get("models")
    if not isinstance(models, list | tuple) or not models or not all(isinstance(m, str) and m.strip() for m in models):
        raise DetectionJobError("Choose at least one model (models: a list of model ids from GET /api/v1/models/).")
    if len(models) > MAX_MODELS:
        raise DetectionJobError(f"Compare at most {MAX_MODELS} models at once.")
    if len(set(models)) != len(models):
        raise DetectionJobError("Each model may be chosen only once.")
    scores = inputs.get("scores")
    if not isinstance(scores, list | tuple) or not scores or not all(isinstance(s, str) for s in scores):
        raise DetectionJobError(f"Choose at least one score; known: {', '.join(SCORES)}.")
    if len(set(scores)) != len(scores):
        raise DetectionJobError("Each score may be chosen only once.")
    with user_errors():
        needs = required_inputs(list(scores))
    reference = _optional_ref(inputs, "reference_model")
    second = _optional_ref(inputs, "second_model")
    if REFERENCE_MODEL in needs and reference is None:
        raise DetectionJobError(
            "The reference-model ratio needs a reference model: set reference_model to a model id (a second, "
            "calibration model; it may use another tokenizer)."
        )
    if SECOND_MODEL in needs and second is None:
        raise DetectionJobError(
            "Binoculars needs a second model: set second_model to the performer (a model with the same tokenizer "
            "as each chosen model, which observes)."
        )
    table = inputs.get("frequency_table")
    if FREQUENCY_TABLE in needs and not table:
        raise DetectionJobError(
            "DC-PDD needs a frequency table built for the model's tokenizer: build one (POST "
            "/api/v1/detection/frequency-tables/) and pass its id as frequency_table."
        )
    batch_size = inputs.get("batch_size", 8)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise DetectionJobError(f"batch_size must be a whole number from 1 to {MAX_BATCH_SIZE}")
    return DetectParams(
        models=tuple(m.strip() for m in models),
        scores=tuple(scores),
        score_params=parse_score_params(inputs.get("params")),
        reference_model=reference,
        second_model=second,
        frequency_table=table if FREQUENCY_TABLE in needs and isinstance(table, dict) else None,
        batch_size=batch_size,
        needs=frozenset(needs),
    )


def _optional_ref(inputs: Mapping[str, Any], key: str) -> str | None:
    value = inputs.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise DetectionJobError(f"{key} must be a model id")
    return value.strip()


def score_conventions(scores: Sequence[str]) -> list[dict[str, Any]]:
    """Each chosen score's meaning and sign convention, as stored with every result."""
    out = []
    for name in scores:
        spec = SCORES[name]
        out.append(
            {
                "name": spec.name,
                "label": spec.label,
                "task": spec.task,
                "higher_means": spec.higher_means,
                "positive_is_higher": spec.positive_is_higher,
                "description": spec.description,
                "needs": sorted(spec.needs),
                "source": spec.source,
            }
        )
    return out


@dataclass
class LoadedModels:
    """Every model a detect job uses, loaded once: the scored models, and the optional reference / second model."""

    main: dict[str, Loaded]
    reference: Loaded | None
    second: Loaded | None
    frequency: FrequencyTable | None

    def detection_model(self, loaded: Loaded, ref: str) -> DetectionModel:
        return DetectionModel(model=loaded.model, tokenizer=loaded.tokenizer, name=str(getattr(loaded.spec, "id", ref)))

    def score(
        self, texts: list[str], *, ref: str, params: DetectParams, report: Callable[[float, str], None]
    ) -> list[dict[str, Any]]:
        """Scores ``texts`` with the main model ``ref`` and this job's reference/second model and frequency table."""
        with user_errors():
            return score_texts(
                texts,
                model=self.detection_model(self.main[ref], ref),
                scores=list(params.scores),
                params=params.score_params,
                reference=self.detection_model(self.reference, str(params.reference_model))
                if self.reference is not None
                else None,
                second=self.detection_model(self.second, str(params.second_model)) if self.second is not None else None,
                frequency=self.frequency,
                batch_size=params.batch_size,
                report=report,
            )


def load_models(params: DetectParams, load: Loader | None, report: Report) -> LoadedModels:
    load = load or default_loader
    main: dict[str, Loaded] = {}
    for index, ref in enumerate(params.models):
        report(0.0, f"Loading model {index + 1} of {len(params.models)}: {ref}")
        main[ref] = load(ref)
    reference = load(params.reference_model) if params.reference_model and REFERENCE_MODEL in params.needs else None
    uses_second = any(SECOND_MODEL in SCORES[n].needs | SCORES[n].optional for n in params.scores)
    second = load(params.second_model) if params.second_model and uses_second else None
    frequency = None
    if params.frequency_table:
        with user_errors():
            frequency = FrequencyTable.load(str(params.frequency_table["path"]))
    return LoadedModels(main, reference, second, frequency)


def model_entry(ref: str, loaded: Loaded | None) -> dict[str, Any] | None:
    if loaded is None:
        return None
    return {"ref": ref, "id": getattr(loaded.spec, "id", ref), "name": getattr(loaded.spec, "name", ref)}


def frequency_entry(params: DetectParams, table: FrequencyTable | None) -> dict[str, Any] | None:
    if table is None or not params.frequency_table:
        return None
    return {
        "id": params.frequency_table.get("id"),
        "corpus_name": table.corpus_name,
        "corpus_sha256": table.corpus_sha256,
        "tokenizer_name": table.tokenizer_name,
        "tokenizer_hash": table.tokenizer_hash,
        "total_tokens": table.total,
        "vocab_size": table.vocab_size,
        "file_sha256": file_sha256(str(params.frequency_table["path"])),
    }


def texts_sha256(texts: Sequence[str]) -> str:
    """One hash over the texts in order (each text's sha256, chained)."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
    return digest.hexdigest()


def detect_manifest(
    kind: str,
    params: DetectParams,
    models: LoadedModels,
    *,
    input_section: Mapping[str, Any],
    frequency: Mapping[str, Any] | None,
) -> dict[str, Any]:
    identities = [model_identity("scored", ref, loaded) for ref, loaded in models.main.items()]
    if models.reference is not None:
        identities.append(model_identity("reference", str(params.reference_model), models.reference))
    if models.second is not None:
        identities.append(model_identity("second", str(params.second_model), models.second))
    first = identities[0]
    return build_manifest(
        kind=kind,
        parameters=params.for_manifest(),
        libraries=MODEL_LIBRARIES,
        runtime={**torch_runtime(first["device"]), "dtype": first["dtype"]},
        models=identities,
        input=dict(input_section),
        frequency_table=dict(frequency) if frequency else None,
    )
