"""Training the value tagger from the Schema-Guided Dialogue corpus (SGD, Rastogi et al. 2020,
CC BY-SA 4.0): each user turn's slot spans, mapped to value kinds, are the tags to learn."""

from __future__ import annotations

import gzip
import json
import random
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression, SGDClassifier

from orchestrator.intelligence.values.changes import BUCKETS as CHANGE_BUCKETS
from orchestrator.intelligence.values.changes import ChangeModel, change_features
from orchestrator.intelligence.values.changes import _buckets as _change_buckets
from orchestrator.intelligence.values.kinds import fact_key, slot_kind
from orchestrator.intelligence.values.tagger import MODEL_PATH, ValueTagger, previous_tag_feature
from orchestrator.intelligence.values.tokens import BUCKETS, hashed, token_features, tokenize

Progress = Callable[[str], None]


def tagged_turns(path: Path) -> Iterator[tuple[str, list[tuple[int, int, str]]]]:
    """(utterance, [(start, end, kind)]) for each user turn of an SGD turns file."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            turn = json.loads(line)
            if turn["speaker"] != "USER":
                continue
            spans = []
            for frame in turn["frames"]:
                for slot in frame.get("slots", []):
                    kind = slot_kind(slot["slot"])
                    if kind is not None:
                        spans.append((slot["start"], slot["exclusive_end"], kind))
            yield turn["utterance"], spans


# The corpus's dialogues all happen in March: without this, "the 17th of April" is not a date.
_MONTHS = (
    "January February March April May June July August September October November December "
    "Jan Feb Apr Jun Jul Aug Sept Oct Nov Dec"
).split()
_MARCH = re.compile(r"\bmarch\b", re.I)


def _other_month(
    text: str, spans: list[tuple[int, int, str]], chance: random.Random
) -> tuple[str, list[tuple[int, int, str]]]:
    """The turn with "March" read as another month, half of the time, spans moved to match."""
    if chance.random() < 0.5 or not _MARCH.search(text):
        return text, spans
    month = chance.choice(_MONTHS)
    month = month.lower() if chance.random() < 0.3 else month
    pieces: list[str] = []
    shifts: list[tuple[int, int]] = []  # (position in the old text, shift from there on)
    last, shift = 0, 0
    for match in _MARCH.finditer(text):
        pieces += [text[last : match.start()], month]
        shift += len(month) - len(match.group(0))
        shifts.append((match.end(), shift))
        last = match.end()
    pieces.append(text[last:])

    def moved(position: int) -> int:
        return position + next((s for at, s in reversed(shifts) if position >= at), 0)

    return "".join(pieces), [(moved(a), moved(b), kind) for a, b, kind in spans]


def bio_tags(text: str, spans: list[tuple[int, int, str]]) -> list[str]:
    tags = []
    for token in tokenize(text):
        tag = "O"
        for start, end, kind in spans:
            if start <= token.start and token.end <= end:
                tag = (
                    "B-" if token.start == start or not text[start : token.start].strip() else "I-"
                ) + kind
                break
        tags.append(tag)
    return tags


def tagger_train(
    turns_path: Path,
    *,
    limit: int = 60000,
    seed: int = 13,
    progress: Progress | None = None,
) -> ValueTagger:
    """Fit the tagger on up to `limit` user turns (a seeded sample); minutes on two cores."""
    say = progress or (lambda line: None)
    started = time.perf_counter()
    turns = list(tagged_turns(turns_path))
    chance = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    chance.shuffle(turns)
    turns = [_other_month(text, spans, chance) for text, spans in turns[:limit]]
    rows: list[np.ndarray] = []
    labels: list[str] = []
    for text, spans in turns:
        tokens = tokenize(text)
        tags = bio_tags(text, spans)
        previous = "O"
        for names, tag in zip(token_features(tokens), tags, strict=True):
            rows.append(hashed([*names, previous_tag_feature(previous)]))
            labels.append(tag)
            previous = tag
    say(f"value tagger: {len(turns)} turns, {len(labels)} tokens")
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    matrix = csr_matrix(
        (np.ones(int(indptr[-1]), dtype=np.float32), np.concatenate(rows), indptr),
        shape=(len(rows), BUCKETS),
    )
    matrix.sum_duplicates()
    model = SGDClassifier(
        loss="log_loss", alpha=2e-6, max_iter=8, tol=None, random_state=seed, n_jobs=2
    )
    model.fit(matrix, labels)
    say(f"value tagger: trained in {time.perf_counter() - started:.0f}s")
    return ValueTagger(model.coef_.T.copy(), model.intercept_, [str(c) for c in model.classes_])


def span_scores(
    tagger: ValueTagger, turns: list[tuple[str, list[tuple[int, int, str]]]]
) -> dict[str, float]:
    """Exact-span precision and recall (kind and boundaries both right)."""
    found = right = gold = 0
    for text, spans in turns:
        predicted = {(v.start, v.end, v.kind) for v in tagger.values(text)}
        wanted = set(spans)
        found += len(predicted)
        gold += len(wanted)
        right += len(predicted & wanted)
    precision = right / found if found else 0.0
    recall = right / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def tagger_train_and_save(
    train_path: Path,
    dev_path: Path | None = None,
    *,
    out: Path = MODEL_PATH,
    progress: Progress | None = None,
) -> dict[str, float]:
    say = progress or (lambda line: None)
    tagger = tagger_train(train_path, progress=say)
    tagger.save(out)
    scores: dict[str, float] = {}
    if dev_path is not None:
        dev = list(tagged_turns(dev_path))[:5000]
        scores = span_scores(tagger, dev)
        say(f"value tagger on SGD dev (5000 user turns): {scores}")
    say(f"value tagger saved to {out} ({out.stat().st_size // 1024} KiB)")
    return scores


ChangeCase = list[tuple[list[str], int]]


def change_cases(path: Path) -> Iterator[ChangeCase]:
    """For each value a user states while other values of its kind are current: one
    (features, replaced?) pair per current value, newest first. The value of the same
    service's same slot is the one replaced (SGD's dialogue state changed); the current values
    of other slots or services of that kind are other things, not replaced."""
    current: dict[tuple[str, str], tuple[str, str, str, int]] = {}
    dialogue = ""
    user_turn = -1
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            turn = json.loads(line)
            if turn["dialogue_id"] != dialogue:
                dialogue, current, user_turn = turn["dialogue_id"], {}, -1
            if turn["speaker"] != "USER":
                continue
            user_turn += 1
            text = turn["utterance"]
            for frame in turn["frames"]:
                for slot in frame.get("slots", []):
                    kind = slot_kind(slot["slot"])
                    if kind is None:
                        continue
                    kind = fact_key(kind)
                    value = text[slot["start"] : slot["exclusive_end"]]
                    where = (frame["service"], slot["slot"])
                    same = current.get(where)
                    if same is not None and same[1].casefold() == value.casefold():
                        continue  # said again
                    rivals = sorted(
                        (
                            (at, entry)
                            for at, entry in current.items()
                            if entry[0] == kind and entry[1].casefold() != value.casefold()
                        ),
                        key=lambda item: -item[1][3],
                    )
                    case: ChangeCase = [
                        (
                            change_features(
                                text,
                                kind,
                                entry[1],
                                value,
                                old_said=entry[2],
                                rank=rank,
                                gap=user_turn - entry[3],
                            ),
                            int(at == where),
                        )
                        for rank, (at, entry) in enumerate(rivals)
                    ]
                    if case:
                        yield case
                    current[where] = (kind, value, text, user_turn)


def change_decisions(
    model: ChangeModel, cases: list[ChangeCase], threshold: float
) -> dict[str, float]:
    """How often the filing decides right on these cases: the current value it replaces (the
    likeliest, if likely enough) or none; and how often a replacement is missed or invented."""
    right = missed = invented = wrong_one = 0
    for case in cases:
        scores = [
            1.0 / (1.0 + np.exp(-float(model.weights[_change_buckets(f)].sum()))) for f, _ in case
        ]
        best = int(np.argmax(scores))
        chosen = best if scores[best] >= threshold else None
        gold = next((i for i, (_, label) in enumerate(case) if label), None)
        right += chosen == gold
        missed += gold is not None and chosen is None
        invented += gold is None and chosen is not None
        wrong_one += gold is not None and chosen is not None and chosen != gold
    n = max(1, len(cases))
    return {
        "accuracy": round(right / n, 4),
        "missed": round(missed / n, 4),
        "invented": round(invented / n, 4),
        "wrong_one": round(wrong_one / n, 4),
        "cases": len(cases),
    }


def change_model_train(
    path: Path, *, dev: Path | None = None, progress: Progress | None = None
) -> ChangeModel:
    """Fit the pairwise change model on SGD train (seconds); scored on SGD dev when given."""
    say = progress or (lambda line: None)
    cases = list(change_cases(path))
    examples = [pair for case in cases for pair in case]
    rows = [_change_buckets(features) for features, _ in examples]
    labels = np.array([label for _, label in examples])
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    matrix = csr_matrix(
        (np.ones(int(indptr[-1]), dtype=np.float32), np.concatenate(rows), indptr),
        shape=(len(rows), CHANGE_BUCKETS),
    )
    matrix.sum_duplicates()
    model = LogisticRegression(C=0.5, max_iter=600, fit_intercept=False)
    model.fit(matrix, labels)
    changes = ChangeModel(model.coef_[0].copy())
    say(
        f"change model: {len(cases)} cases, {len(examples)} pairs"
        f" ({labels.mean():.0%} replacements)"
    )
    if dev is not None:
        dev_cases = list(change_cases(dev))
        for threshold in (0.3, 0.4, 0.5, 0.6):
            say(
                f"change model on SGD dev, threshold {threshold}: "
                f"{change_decisions(changes, dev_cases, threshold)}"
            )
    return changes
