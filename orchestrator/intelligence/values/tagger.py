"""The value tagger: a left-to-right token classifier (a maximum-entropy Markov model, each
token's tag read from its hashed features and the tag before it) that marks the values in a
turn and their kind. Trained on the slot spans of the Schema-Guided Dialogue corpus (see
`values.training`); the weights ship as a small NumPy file next to this module.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestrator.intelligence.values.tokens import Token, hashed, token_features, tokenize

MODEL_PATH = Path(__file__).with_name("value-tagger.npz")


@dataclass(frozen=True)
class Value:
    """A value found in a turn: its kind, the words as the customer wrote them, and where."""

    kind: str
    text: str
    start: int
    end: int


def previous_tag_feature(tag: str) -> str:
    return f"prev={tag}"


class ValueTagger:
    """Weights per hashed feature and tag; `tag` reads a turn greedily, left to right."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, labels: list[str]) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.labels = labels
        self._prev_bucket = {
            label: int(hashed([previous_tag_feature(label)])[0]) for label in labels
        }
        self._outside = labels.index("O")

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> ValueTagger:
        with np.load(path, allow_pickle=False) as stored:
            return cls(stored["weights"], stored["bias"], [str(x) for x in stored["labels"]])

    def save(self, path: Path = MODEL_PATH) -> None:
        np.savez_compressed(
            path,
            weights=self.weights.astype(np.float16),
            bias=self.bias,
            labels=np.array(self.labels),
        )

    def tags(self, tokens: list[Token]) -> list[str]:
        features = token_features(tokens)
        tags: list[str] = []
        previous = "O"
        for names in features:
            buckets = hashed(names)
            scores = self.weights[buckets].sum(axis=0) + self.bias
            scores += self.weights[self._prev_bucket.get(previous, 0)]
            # A value continues only what it started: "I-x" after neither "B-x" nor "I-x" is
            # read as the start of a new value.
            choice = self.labels[int(np.argmax(scores))]
            if choice.startswith("I-") and previous[2:] != choice[2:]:
                choice = "B-" + choice[2:]
            tags.append(choice)
            previous = choice
        return tags

    def values(self, text: str) -> list[Value]:
        tokens = tokenize(text)
        if not tokens:
            return []
        found: list[Value] = []
        kind, start, end = "", -1, -1
        for token, tag in zip(tokens, self.tags(tokens), strict=True):
            if tag.startswith("I-") and kind == tag[2:]:
                end = token.end
                continue
            if kind:
                found.append(Value(kind, text[start:end], start, end))
                kind = ""
            if tag.startswith("B-"):
                kind, start, end = tag[2:], token.start, token.end
        if kind:
            found.append(Value(kind, text[start:end], start, end))
        return found


_loaded: dict[str, ValueTagger] = {}
_lock = threading.Lock()


def value_tagger() -> ValueTagger | None:
    """The shipped tagger, loaded once per process; None if the weights are missing."""
    tagger = _loaded.get("tagger")
    if tagger is None and MODEL_PATH.exists():
        with _lock:
            tagger = _loaded.get("tagger") or ValueTagger.load()
            _loaded["tagger"] = tagger
    return tagger


def reset_loaded() -> None:
    """Forget the loaded tagger, so the next call reads the weights file again."""
    with _lock:
        _loaded.clear()
