"""Whether a newly stated value replaces one of the current values of the same kind ("no,
make it the 11th") or is another thing of that kind ("and a table for Friday"): a logistic
model over pairs (the new value, one current value), reading the turn's words and the words
around both values, trained on the Schema-Guided Dialogue corpus's dialogue states (the value
of the same service's same slot was replaced by the user; the current value of another slot
of the same kind was not).
"""

from __future__ import annotations

import functools
import math
import re
import threading
import zlib
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("value-changes.npz")
BUCKETS = 1 << 15
_WORD = re.compile(r"[a-z0-9']+")


def _words_before(lowered: str, value: str, count: int) -> list[str]:
    position = lowered.find(value.casefold()) if value else -1
    return _WORD.findall(lowered[:position])[-count:] if position >= 0 else []


def _shape(value: str) -> str:
    """A value's coarse shape: has digits, is capitalised, how many words."""
    words = value.split()
    return (
        f"{'d' if any(c.isdigit() for c in value) else 'a'}"
        f"{'C' if value[:1].isupper() else 'l'}{min(len(words), 3)}"
    )


@functools.lru_cache(maxsize=512)
def _tagged(text: str) -> tuple[tuple[str, int, int], ...]:
    from orchestrator.intelligence.values.tagger import value_tagger

    tagger = value_tagger()
    if tagger is None:
        return ()
    return tuple((v.kind, v.start, v.end) for v in tagger.values(text))


def fine_kind(text: str, value: str) -> str:
    """The tagger's own kind for a value where a turn states it ("end date", "from", "to"
    before they are filed together as "date" and "place"), or "" when it did not tag it."""
    start = text.casefold().find(value.casefold())
    if start < 0:
        return ""
    end = start + len(value)
    return next((kind for kind, a, b in _tagged(text) if a < end and start < b), "")


def change_features(
    text: str,
    kind: str,
    old: str,
    new: str,
    *,
    old_said: str | None = None,
    rank: int = 0,
    gap: int = 0,
) -> list[str]:
    """What tells whether `new` replaces `old`: the new turn's words and word pairs, alone and
    with the kind; the words just before the new value and, when the turn that stated the old
    value is known (`old_said`), just before the old one, and whether they are the same ("to
    Fresno" after "to San Diego"); how recent the old value is among the current ones of its
    kind (`rank`, 0 for the newest) and how many turns ago it was said (`gap`); whether the
    old value is repeated; the two values' shapes."""
    lowered = text.casefold()
    words = _WORD.findall(lowered)
    before = _words_before(lowered, new, 3)
    grams = set(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}
    features = ["bias", f"k={kind}", f"len={min(len(words) // 4, 6)}"]
    features += [f"g={g}" for g in grams]
    features += [f"k={kind}|g={g}" for g in grams]
    features += [f"b={w}" for w in before] + [f"k={kind}|b={w}" for w in before]
    features.append(f"old_repeated={old.casefold() in lowered}")
    new_mark = before[-1] if before else "<s>"
    if old_said is None:
        old_mark = "<unknown>"
    else:
        old_before = _words_before(old_said.casefold(), old, 3)
        old_mark = old_before[-1] if old_before else "<s>"
        features += [f"ob={w}" for w in old_before] + [f"k={kind}|ob={w}" for w in old_before]
        # "check in on the 11th" and "check in on the 12th" share more than "on".
        shared = set(before) & set(old_before)
        features += [f"shared={w}" for w in shared] + [f"shared_count={min(len(shared), 3)}"]
        features.append(f"marks2={' '.join(before[-2:])}|{' '.join(old_before[-2:])}")
        kinds = f"{fine_kind(text, new) or '-'}|{fine_kind(old_said, old) or '-'}"
        features += [f"fine={kinds}", f"fine_same={kinds.split('|')[0] == kinds.split('|')[1]}"]
    features += [
        f"marks={new_mark}|{old_mark}",
        f"k={kind}|marks={new_mark}|{old_mark}",
        f"same_mark={new_mark == old_mark}",
        f"k={kind}|same_mark={new_mark == old_mark}",
    ]
    rank_bucket = min(rank, 3)
    gap_bucket = 0 if gap <= 0 else 1 if gap == 1 else 2 if gap <= 3 else 3 if gap <= 7 else 4
    features += [
        f"rank={rank_bucket}",
        f"k={kind}|rank={rank_bucket}",
        f"gap={gap_bucket}",
        f"k={kind}|gap={gap_bucket}",
        f"shapes={_shape(old)}|{_shape(new)}",
    ]
    return features


def _buckets(features: list[str]) -> np.ndarray:
    return np.fromiter((zlib.crc32(f.encode()) % BUCKETS for f in features), dtype=np.int64)


class ChangeModel:
    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights.astype(np.float32)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> ChangeModel:
        with np.load(path, allow_pickle=False) as stored:
            return cls(stored["weights"])

    def save(self, path: Path = MODEL_PATH) -> None:
        np.savez_compressed(path, weights=self.weights.astype(np.float16))

    def replaces(
        self,
        text: str,
        kind: str,
        old: str,
        new: str,
        *,
        old_said: str | None = None,
        rank: int = 0,
        gap: int = 0,
    ) -> float:
        """The probability that `new`, stated in `text`, replaces `old` as the customer's value
        of `kind` (rather than being another thing of that kind)."""
        features = change_features(text, kind, old, new, old_said=old_said, rank=rank, gap=gap)
        score = float(self.weights[_buckets(features)].sum())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, score))))


_loaded: dict[str, ChangeModel] = {}
_lock = threading.Lock()


def change_model() -> ChangeModel | None:
    model = _loaded.get("changes")
    if model is None and MODEL_PATH.exists():
        with _lock:
            model = _loaded.get("changes") or ChangeModel.load()
            _loaded["changes"] = model
    return model


def reset_loaded() -> None:
    with _lock:
        _loaded.clear()
