"""Whether a newly stated value replaces the current value of the same kind ("no, make it the
11th") or is another thing of that kind ("and a table for Friday"): a logistic model over the
turn's words, trained on the Schema-Guided Dialogue corpus's dialogue states (a slot whose
value changed was changed by the user; a value for another slot of the same kind was not).
"""

from __future__ import annotations

import math
import re
import threading
import zlib
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("value-changes.npz")
BUCKETS = 1 << 15
_WORD = re.compile(r"[a-z0-9']+")


def change_features(text: str, kind: str, old: str, new: str) -> list[str]:
    """The turn's words and word pairs, alone and with the value's kind; where the new value
    stands; whether the old value is repeated in the turn."""
    lowered = text.casefold()
    words = _WORD.findall(lowered)
    position = lowered.find(new.casefold())
    before = _WORD.findall(lowered[:position])[-3:] if position >= 0 else []
    grams = set(words) | {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}
    features = ["bias", f"k={kind}", f"len={min(len(words) // 4, 6)}"]
    features += [f"g={g}" for g in grams]
    features += [f"k={kind}|g={g}" for g in grams]
    features += [f"b={w}" for w in before] + [f"k={kind}|b={w}" for w in before]
    features.append(f"old_repeated={old.casefold() in lowered}")
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

    def replaces(self, text: str, kind: str, old: str, new: str) -> float:
        """The probability that `new` replaces `old` as the customer's value of `kind`."""
        score = float(self.weights[_buckets(change_features(text, kind, old, new))].sum())
        return 1.0 / (1.0 + math.exp(-score))


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
