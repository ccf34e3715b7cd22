"""The conversation page's work panel: where the conversation stands (open, snoozed,
resolved), its wrap-ups, private notes and labels, and the lists a person picks from
(dispositions, canned responses). Notes are people's words about a customer: masked as the
page's pack is for a person without `pii`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

from memory.actors import Partition
from memory.redaction import Redactor
from memory.selectors.work import (
    conversation_labels,
    conversation_notes,
    conversation_work_state,
    conversation_wrap_ups,
    labels_in_use,
)
from orchestrator.models import CannedResponse, Disposition

if TYPE_CHECKING:
    from memory.context import ContextPack
    from memory.models import Conversation


@dataclass(frozen=True)
class NoteView:
    note_id: int
    author: str
    text: str
    at: dt.datetime


@dataclass(frozen=True)
class WrapUpView:
    disposition: str
    note: str
    by: str
    at: dt.datetime


@dataclass(frozen=True)
class WorkPanel:
    state: str
    snoozed_until: dt.datetime | None
    wrap_ups: tuple[WrapUpView, ...]
    notes: tuple[NoteView, ...]
    labels: tuple[str, ...]
    labels_known: tuple[str, ...]
    dispositions: tuple[Disposition, ...]
    canned: tuple[CannedResponse, ...]


def work_panel_read(*, conversation: Conversation, pack: ContextPack) -> WorkPanel:
    """Everything the work panel shows; eight queries."""
    state, work = conversation_work_state(conversation=conversation)
    redactor = None if Partition.PII in pack.partitions else Redactor()

    def shown(text: str) -> str:
        return redactor.text(text) if redactor is not None else text

    labels = {d.name: d.label for d in Disposition.objects.all()}
    return WorkPanel(
        state=state,
        snoozed_until=work.snoozed_until if work is not None and state == "snoozed" else None,
        wrap_ups=tuple(
            WrapUpView(
                disposition=labels.get(w.disposition, w.disposition),
                note=shown(w.note),
                by=_name(w.resolved_by),
                at=w.created_at,
            )
            for w in conversation_wrap_ups(conversation_id=conversation.pk)
        ),
        notes=tuple(
            NoteView(note_id=n.pk, author=_name(n.author), text=shown(n.text), at=n.created_at)
            for n in conversation_notes(conversation_id=conversation.pk)
        ),
        labels=tuple(conversation_labels(conversation_id=conversation.pk)),
        labels_known=tuple(labels_in_use()),
        dispositions=tuple(Disposition.objects.filter(enabled=True)),
        canned=tuple(
            CannedResponse.objects.filter(enabled=True).filter(
                Q(channel="") | Q(channel=conversation.channel)
            )
        ),
    )


def _name(user: object) -> str:
    if user is None:
        return "someone"
    full = getattr(user, "get_full_name", lambda: "")()
    return str(full or getattr(user, "username", "someone"))
