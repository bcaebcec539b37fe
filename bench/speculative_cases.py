"""Prompts for ``bench.speculative_bench``: ones where drafting can pay (the answer copies from the prompt) and one
where it cannot (open-ended writing).

Each prompt is long enough that greedy SmolLM2-135M-Instruct keeps going past 64 new tokens, so every method
generates the same number of tokens and wall times compare like for like (the benchmark checks the counts anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. It was a sunny afternoon in the small village, and the children "
    "were playing in the park near the old church while their parents chatted on the benches. A baker walked past "
    "with a basket of fresh bread, and the smell drifted across the square."
)

FUNCTION = """def moving_average(values, window):
    if window <= 0:
        raise ValueError("window must be positive")
    result = []
    total = 0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        if i >= window - 1:
            result.append(total / window)
    return result
"""

ARTICLE = (
    "The city council voted on Tuesday to turn the old railway yard into a public park. The yard, which closed in "
    "1998, covers twelve hectares between the river and the market district. The plan keeps the two brick engine "
    "sheds, which will house a café, a bicycle workshop and a small museum about the railway. Work on the first "
    "phase, a path along the river and a playground, starts in March and should finish by the end of the year. "
    "The council expects the whole park to cost 18 million euros, two thirds of it paid by a regional fund for "
    "brownfield sites. Residents had asked for more green space for years: the market district has the fewest "
    "trees per person in the city. Some shop owners worried about losing parking, so the plan adds a car park "
    "with 200 spaces at the northern entrance. The council will hold three public meetings in February to let "
    "residents comment on the design before the final vote in April."
)

COPY_SOURCE = (
    "Tokenizers split text into pieces that a language model can look up in its vocabulary. A byte-pair encoding "
    "tokenizer starts from single bytes and repeatedly merges the most frequent adjacent pair into a new token, "
    "until the vocabulary reaches its target size. Common words end up as one token, while rare words are split "
    "into several pieces. This is why the same sentence can cost a different number of tokens in different models."
)

Template = Literal["chat", "raw"]


@dataclass(frozen=True)
class Case:
    """One prompt of the benchmark."""

    name: str
    model: str
    """A ``workers.models.registry`` reference."""
    template: Template
    """``chat``: wrapped in the model's chat template as one user turn; ``raw``: plain text for a base model."""
    text: str
    suits_drafting: bool
    """Whether the answer can copy from the prompt (where prompt lookup and similar drafters should pay)."""
    description: str


SMOLLM = "smollm2-135m-instruct"
GEMMA = "gemma-3-270m"

CASES: tuple[Case, ...] = (
    Case(
        name="edit",
        model=SMOLLM,
        template="chat",
        text="Repeat the following paragraph exactly, but change 'fox' to 'cat' and 'baker' to 'farmer':\n\n"
        + PARAGRAPH,
        suits_drafting=True,
        description="edit a given paragraph (the answer copies it)",
    ),
    Case(
        name="code",
        model=SMOLLM,
        template="chat",
        text="Add type hints and a docstring to this Python function. Reply with the complete function.\n\n"
        "```python\n" + FUNCTION + "```",
        suits_drafting=True,
        description="add type hints and a docstring to a given Python function",
    ),
    Case(
        name="summary",
        model=SMOLLM,
        template="chat",
        text="Summarise the following news article in a few sentences.\n\n" + ARTICLE,
        suits_drafting=True,
        description="summarise a given article",
    ),
    Case(
        name="story",
        model=SMOLLM,
        template="chat",
        text="Write a short story about a lighthouse keeper who finds a message in a bottle.",
        suits_drafting=False,
        description="open-ended story (nothing to copy)",
    ),
    Case(
        name="gemma-copy",
        model=GEMMA,
        template="raw",
        # The paragraph, then its first sentence again: a base model continues by repeating the rest (checked with
        # gemma-3-270m; asked in words to "copy the paragraph" it paraphrases instead).
        text=COPY_SOURCE + "\n\n" + COPY_SOURCE.split(". ")[0] + ".",
        suits_drafting=True,
        description="base model continuing a text whose paragraph starts over",
    ),
)

CASE_NAMES = tuple(case.name for case in CASES)

RECYCLING_DONOR: dict[Template, str] = {
    "chat": "Explain how a bicycle works, part by part.",
    "raw": "The bicycle was invented in the nineteenth century. Its frame, wheels and chain",
}
"""An unrelated earlier request whose generation fills Token Recycling's matrix for the "warm" rows (the paper keeps
the matrix across requests; warming it on the benchmark prompt itself would teach it the very answer)."""


def case_by_name(name: str) -> Case:
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(f"unknown case {name!r}; choose from {', '.join(CASE_NAMES)}")
