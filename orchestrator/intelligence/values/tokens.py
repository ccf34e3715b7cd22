"""Tokens of a turn with their character offsets, and the hashed features the value tagger
reads around each token. Shared by training and tagging so both see the same features."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

BUCKETS = 1 << 16
_TOKEN = re.compile(
    r"\d+(?:[:.,]\d+)*(?:st|nd|rd|th|am|pm|a\.m\.|p\.m\.)?|\w+(?:['’.-]\w+)*|[^\w\s]"
)


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _shape(word: str) -> str:
    shape = re.sub(r"[A-Z]", "X", word)
    shape = re.sub(r"[a-z]", "x", shape)
    shape = re.sub(r"\d", "d", shape)
    return re.sub(r"(.)\1+", r"\1\1", shape)


def token_features(tokens: list[Token]) -> list[list[str]]:
    """Feature names per token: the word, its shape and affixes, and its neighbours."""
    words = [t.text for t in tokens]
    lowered = [w.casefold() for w in words]
    padded = ["<s2>", "<s1>", *lowered, "</s1>", "</s2>"]
    shapes = ["<s>", "<s>", *(_shape(w) for w in words), "</s>", "</s>"]
    features: list[list[str]] = []
    for index, word in enumerate(words):
        low = lowered[index]
        at = index + 2
        features.append(
            [
                "b",
                f"w={low}",
                f"sh={shapes[at]}",
                f"p3={low[:3]}",
                f"s3={low[-3:]}",
                f"s2={low[-2:]}",
                f"t={word[:1].isupper()}",
                f"first={index == 0}",
                f"w-1={padded[at - 1]}",
                f"w-2={padded[at - 2]}",
                f"w+1={padded[at + 1]}",
                f"w+2={padded[at + 2]}",
                f"w-1w={padded[at - 1]}|{low}",
                f"ww+1={low}|{padded[at + 1]}",
                f"w-2w-1={padded[at - 2]}|{padded[at - 1]}",
                f"w+1w+2={padded[at + 1]}|{padded[at + 2]}",
                f"sh-1={shapes[at - 1]}",
                f"sh+1={shapes[at + 1]}",
                f"sh-1sh+1={shapes[at - 1]}|{shapes[at]}|{shapes[at + 1]}",
            ]
        )
    return features


def hashed(features: list[str]) -> np.ndarray:
    """Bucket numbers of a token's features (crc32: stable across processes and machines)."""
    return np.fromiter((zlib.crc32(name.encode()) % BUCKETS for name in features), dtype=np.int64)
