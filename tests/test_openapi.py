"""The committed API contract (docs/openapi.yaml) is what the code serves; `make schema` regenerates it."""

from __future__ import annotations

from pathlib import Path

import yaml
from drf_spectacular.generators import SchemaGenerator

REPO = Path(__file__).resolve().parents[1]


def test_committed_schema_matches_the_code() -> None:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    committed = yaml.safe_load((REPO / "docs" / "openapi.yaml").read_text())
    generated = yaml.safe_load(yaml.safe_dump(generated, sort_keys=True, allow_unicode=True))
    assert generated == committed, "The API changed: run `make schema` and commit docs/openapi.yaml"
