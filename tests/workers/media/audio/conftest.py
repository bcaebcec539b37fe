from __future__ import annotations

from pathlib import Path

import pytest

from workers.media.audio import units


@pytest.fixture(scope="session")
def default_codebooks(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The shipped k-means mel codebooks, built once per session into a scratch store."""
    return units.prepare_defaults(tmp_path_factory.mktemp("media-store"))
