"""Fixtures for intelligence tests: the default models trained once per session, in a
temporary model directory, so no test touches var/models.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

from orchestrator.intelligence.store import process_cache
from orchestrator.intelligence.training import model_in_service


@pytest.fixture(scope="session")
def default_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's default intent and sentiment models, trained from its own data once."""
    directory = tmp_path_factory.mktemp("models")
    with override_settings(RAPPORT_MODEL_DIR=directory):
        process_cache.clear()
        model_in_service("intent")
        model_in_service("sentiment")
    process_cache.clear()
    return directory


@pytest.fixture(autouse=True)
def default_models(settings, default_model_dir: Path) -> Path:
    settings.RAPPORT_MODEL_DIR = default_model_dir
    process_cache.clear()
    yield default_model_dir
    process_cache.clear()


@pytest.fixture
def empty_model_dir(settings, tmp_path: Path) -> Path:
    """A model directory with nothing in service, for training and retraining tests."""
    settings.RAPPORT_MODEL_DIR = tmp_path / "models"
    process_cache.clear()
    return settings.RAPPORT_MODEL_DIR
