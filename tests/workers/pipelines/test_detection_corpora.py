"""The shipped reference corpora read offline from their installed packages, with licence and provenance."""

from __future__ import annotations

import pytest

from workers.pipelines.detection_corpora import CorpusUnavailableError, list_corpora, shipped_corpus


def test_wikipedia_leads_are_every_english_extract() -> None:
    """Catches a reader that drops or duplicates articles, or reads the Spanish/French files."""
    texts = list(shipped_corpus("wikipedia-leads-en").texts())
    assert len(texts) == 10_033
    assert texts[0].startswith("20th-century classical music is Western art music")


def test_shakespeare_counts_each_play_once() -> None:
    """Catches the First Folio duplicates counted beside the modern texts (every play's tokens twice)."""
    corpus = shipped_corpus("shakespeare")
    folder = corpus.folder()
    assert folder is not None
    modern = sorted(folder.glob("texts/*_gut.txt"))
    assert len(modern) < len(list(folder.glob("texts/*.txt")))
    texts = list(corpus.texts())
    assert all(text.strip() == text and text for text in texts)
    assert sum(len(t) for t in texts) < sum(len(p.read_text(errors="replace")) for p in modern)


def test_the_catalogue_shows_licences_and_refuses_unknown_ids() -> None:
    """Catches a corpus listed without licence, version or install state, or an unknown id that is not a user error."""
    listed = {entry["id"]: entry for entry in list_corpora()}
    assert listed["shakespeare"]["licence"].startswith("Public domain")
    assert listed["wikipedia-leads-en"]["version"] == "0.0.7" and listed["wikipedia-leads-en"]["installed"]
    with pytest.raises(CorpusUnavailableError, match="Unknown corpus"):
        shipped_corpus("the-library-of-babel")
