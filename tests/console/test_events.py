"""The console and the typed events agree: every event name the console's scripts and its
websocket consumer act on is one `memory.events` can send, and every registered event can be
built and sent (a JSON payload, valid group names, never named from a phone number).

The names are read from the code that handles them, so renaming an event on either side fails
here rather than leaving a page that silently stops updating.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
import types
import typing
from pathlib import Path

import pytest
from channels.layers import BaseChannelLayer
from django.conf import settings
from django.contrib.staticfiles import finders

from channels_app import consumers
from memory import events
from memory.events import Event

TEMPLATES = Path(settings.BASE_DIR) / "templates" / "console"
# What the consumer itself says, never published: its greeting, errors, and who is looking.
CONSUMER_OWN = frozenset({"console.ready", "error"})
CONSUMER_OWN_PREFIX = "viewer."
PHONE = "+14155550101"

_STATIC = re.compile(r"""{%\s*static\s+['"]([^'"]+\.js)['"]\s*%}""")
_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.DOTALL)
_IMPORT = re.compile(r"""\bfrom\s+['"](\.{1,2}/[^'"]+\.js)['"]""")
_NAME = r"""['"]([\w.]+)['"]"""
_EVENT = r"""\b\w+(?:\.\w+)*\.event\b"""
_COMPARED = [
    re.compile(rf"{_EVENT}\s*[!=]==?\s*{_NAME}"),
    re.compile(rf"{_NAME}\s*[!=]==?\s*{_EVENT}"),
    re.compile(rf"{_EVENT}\.startsWith\(\s*{_NAME}\s*\)"),
]
_SWITCH = re.compile(rf"switch\s*\(\s*{_EVENT}\s*\)\s*{{")
_CASE = re.compile(rf"\bcase\s+{_NAME}\s*:")


def _scripts_of_the_console_pages() -> dict[str, str]:
    """Every script the console's templates run: inline ones, the static modules they load,
    and the modules those import."""
    found: dict[str, str] = {}
    pending: list[Path] = []
    for template in sorted(TEMPLATES.glob("*.html")):
        html = template.read_text()
        for n, inline in enumerate(_INLINE_SCRIPT.findall(html)):
            if inline.strip():
                found[f"{template.name}#script{n}"] = inline
        for static_path in _STATIC.findall(html):
            located = finders.find(static_path)
            assert located, f"{template.name} loads {static_path}, which is not a static file"
            pending.append(Path(located))
    while pending:
        script = pending.pop().resolve()
        if str(script) in found:
            continue
        source = script.read_text()
        found[str(script)] = source
        pending += [script.parent / imported for imported in _IMPORT.findall(source)]
    return found


def _switch_cases(source: str) -> set[str]:
    """The case labels of every `switch (<x>.event) { ... }`, braces matched."""
    names: set[str] = set()
    for switch in _SWITCH.finditer(source):
        depth, end = 1, switch.end()
        while depth and end < len(source):
            depth += {"{": 1, "}": -1}.get(source[end], 0)
            end += 1
        names |= set(_CASE.findall(source[switch.end() : end]))
    return names


def _names_in_script(source: str) -> set[str]:
    names = _switch_cases(source)
    for pattern in _COMPARED:
        names |= set(pattern.findall(source))
    return names


def _is_event_field(node: ast.expr) -> bool:
    """`<something>["event"]`: the name of an event the consumer received."""
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Constant)
        and node.slice.value == "event"
    )


def _strings(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return set().union(*(_strings(element) for element in node.elts))
    return set()


def _names_the_consumer_compares() -> set[str]:
    """Event names channels_app.consumers tests a received event's name against."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(inspect.getsource(consumers))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_event_field(side) for side in sides):
                for side in sides:
                    names |= _strings(side)
        elif isinstance(node, ast.Match) and _is_event_field(node.subject):
            for case in node.cases:
                names |= {
                    pattern.value.value
                    for pattern in ast.walk(case.pattern)
                    if isinstance(pattern, ast.MatchValue)
                    and isinstance(pattern.value, ast.Constant)
                }
    return names


def _names_the_consumer_sends() -> set[str]:
    """Names in `{"event": "..."}` messages the consumer builds itself."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(inspect.getsource(consumers))):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "event":
                    names |= _strings(value)
    return names


def _published(name: str) -> bool:
    return name not in CONSUMER_OWN and not name.startswith(CONSUMER_OWN_PREFIX)


def test_the_parsers_find_what_the_console_is_known_to_handle():
    """Guard the guard: if the code's shape changes so nothing is found, say so."""
    scripts = _scripts_of_the_console_pages()
    assert any(path.endswith("queue.js") for path in scripts)
    assert any(path.endswith("conversation.js") for path in scripts)
    assert any(path.endswith("live.js") for path in scripts)  # followed through imports
    in_scripts = set().union(*map(_names_in_script, scripts.values()))
    assert {"console.ready", "viewer.joined", "viewer.composing"} <= in_scripts
    assert "conversation.assigned" in _names_the_consumer_compares()
    assert _names_the_consumer_sends() == CONSUMER_OWN


def test_every_event_the_console_handles_is_one_that_is_published():
    scripts = _scripts_of_the_console_pages()
    handled = {
        f"{path}: {name}"
        for path, source in scripts.items()
        for name in _names_in_script(source)
        if _published(name)
    } | {f"channels_app/consumers.py: {name}" for name in _names_the_consumer_compares()}
    assert handled, "the console handles no published event by name"
    unknown = sorted(h for h in handled if h.rsplit(": ", 1)[1] not in Event.registry)
    assert not unknown, f"handled but never published (renamed?): {unknown}"
    assert not (CONSUMER_OWN & set(Event.registry))  # the consumer's own names stay its own


def test_the_viewer_events_the_scripts_handle_are_ones_the_consumer_sends():
    source = inspect.getsource(consumers)
    scripts = _scripts_of_the_console_pages()
    viewer_names = {
        name
        for script in scripts.values()
        for name in _names_in_script(script)
        if name.startswith(CONSUMER_OWN_PREFIX) and name != CONSUMER_OWN_PREFIX
    }
    assert viewer_names
    for name in sorted(viewer_names):
        assert f'"{name}"' in source, f"the console handles {name}, which the consumer never sends"


def _every_event_class(cls: type[Event] = Event) -> list[type[Event]]:
    found: list[type[Event]] = []
    for subclass in cls.__subclasses__():
        found += [subclass, *_every_event_class(subclass)]
    return found


def test_each_event_name_belongs_to_exactly_one_class():
    named = [cls for cls in _every_event_class() if "name" in cls.__dict__]
    assert named
    assert len({cls.name for cls in named}) == len(named), "two event classes share a name"
    assert {cls.name: cls for cls in named} == Event.registry


def _sample(hint: object) -> object:
    """A value of the field's type; strings are phone numbers, so a group built from one
    would show."""
    if hint is typing.Any:
        return PHONE
    if hint in (int, float, bool, str):
        return {int: 7, float: 1.5, bool: True, str: PHONE}[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _sample(next(arg for arg in args if arg is not type(None)))
    if origin is list:
        return [_sample(args[0])]
    if origin is tuple:
        element = args[0]
        return (
            (_sample(element), None)
            if type(None) in typing.get_args(element)
            else (_sample(element),)
        )
    if origin is dict:
        return {"key": _sample(args[1])}
    raise AssertionError(f"no sample for a field of type {hint!r}; teach this test")


def _built(cls: type[Event]) -> Event:
    hints = typing.get_type_hints(cls, vars(events))
    return cls(**{f.name: _sample(hints[f.name]) for f in dataclasses.fields(cls) if f.init})


@pytest.mark.parametrize("name", sorted(Event.registry))
def test_every_event_builds_a_json_payload_for_valid_groups(name):
    cls = Event.registry[name]
    event = _built(cls)
    assert event.name == name

    payload = event.payload()
    assert json.loads(json.dumps(payload)) == payload  # as the browser receives it
    routing = {f.name for f in dataclasses.fields(cls) if not f.metadata.get("payload", True)}
    assert not routing & set(payload)  # routing fields are not sent to the browser
    if hasattr(event, "conversation_id"):
        assert payload["conversation_id"] == event.conversation_id  # the consumer keys on it

    groups = event.groups()
    assert events.SUPERVISORS in groups
    layer = BaseChannelLayer()
    for group in groups:
        assert "+" not in group, f"{name} is sent to a group named from a phone: {group}"
        layer.require_valid_group_name(group)
