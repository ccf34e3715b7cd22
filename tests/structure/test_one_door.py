"""The graph has one door: outside `memory/`, code reads it through selectors and the gate and
changes it through services, never through a graph model's manager or a reverse relation of
one (`customer.messages.filter(...)`)."""

from __future__ import annotations

import ast
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
# bench/ measures the product from outside, in a scratch database: it may look at rows directly.
OUTSIDE_MEMORY = ("orchestrator", "channels_app")
MANAGERS = {"objects", "_default_manager", "_base_manager"}


def _graph_models() -> set[str]:
    return {model.__name__ for model in apps.get_app_config("memory").get_models()}


def _reverse_relations() -> set[str]:
    """The related names graph models reach each other by (`messages`, `identities`, ...)."""
    names: set[str] = set()
    for model in apps.get_app_config("memory").get_models():
        for relation in model._meta.related_objects:
            accessor = relation.get_accessor_name()
            if accessor and not accessor.endswith("+"):
                names.add(accessor)
    return names


def _bypasses(path: Path, graph_models: set[str], relations: set[str]) -> list[str]:
    """`Model.objects...` on a graph model, and `<row>.<reverse relation>.<queryset method>`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        if node.attr in MANAGERS and isinstance(owner, ast.Name) and owner.id in graph_models:
            found.append(f"{_where(path)}:{node.lineno} {owner.id}.{node.attr}")
        elif (
            isinstance(owner, ast.Attribute)
            and owner.attr in relations
            and node.attr in {"all", "filter", "exclude", "get", "first", "last", "create"}
            and not (isinstance(owner.value, ast.Name) and owner.value.id == "client")
        ):
            found.append(f"{_where(path)}:{node.lineno} .{owner.attr}.{node.attr}")
    return found


def _where(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _scan() -> list[str]:
    graph_models, relations = _graph_models(), _reverse_relations()
    found: list[str] = []
    for app in OUTSIDE_MEMORY:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                found += _bypasses(path, graph_models, relations)
    return found


def test_no_orm_access_to_the_graph_outside_memory():
    assert _scan() == [], "graph read or written around memory's selectors and services"


def test_the_scan_sees_a_manager_and_a_reverse_relation(tmp_path):
    """The check itself: both kinds of bypass are found."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from memory.models import Message\n"
        "def f(customer):\n"
        "    Message.objects.filter(pk=1)\n"
        "    return customer.messages.filter(pk=1)\n"
    )
    found = _bypasses(sample, _graph_models(), _reverse_relations())
    assert len(found) == 2
