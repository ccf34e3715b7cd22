"""Writing the trail: who a change is attributed to, auditlog's registration of the graph, and
the one writer of access and compliance entries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from auditlog.cid import get_cid
from auditlog.context import set_actor
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.encoding import smart_str

from memory.models import (
    AuditEntry,
    Case,
    Conversation,
    Customer,
    CustomerMerge,
    Fact,
    Identity,
    IntentCorrection,
    MergeProposal,
    Message,
    SentimentReading,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import User
    from django.db.models import Model

    from memory.actors import Actor, Partition


_attribution: ContextVar[str] = ContextVar("rapport_audit_attribution", default="")


@contextmanager
def acting_as(*, label: str, user: User | None = None) -> Iterator[None]:
    """Attribute the change entries auditlog writes in this block to `label` (and `user`):
    what auditlog's request middleware does for a signed-in person, for work done outside a
    request (Celery tasks) or by a non-person (API clients). An entry that names its actor
    already (the gate's ACCESS entries) keeps it; nested blocks hand back when they end."""
    token = _attribution.set(label[:150])
    try:
        if user is None:
            yield
        else:
            with set_actor(user):
                yield
    finally:
        _attribution.reset(token)


def attribution_fill(*, instance: AuditEntry, **_: object) -> None:
    """`pre_save` of audit entries: an unattributed change entry takes the block's label."""
    if not instance.actor_label:
        instance.actor_label = _attribution.get()


_task_attributions: dict[str, ExitStack] = {}


def task_attribution_begin(*, task_id: str, task: Any, **_: object) -> None:
    """Celery `task_prerun`: changes a task makes are the task's (`task:<name>`)."""
    stack = ExitStack()
    stack.enter_context(acting_as(label=f"task:{task.name}"))
    _task_attributions[task_id] = stack


def task_attribution_end(*, task_id: str, **_: object) -> None:
    """Celery `task_postrun`: end the task's attribution."""
    stack = _task_attributions.pop(task_id, None)
    if stack is not None:
        stack.close()


def register_graph_models() -> None:
    """Have auditlog record create, update and delete on every graph model."""
    for model in (
        Customer,
        Identity,
        Conversation,
        Case,
        Fact,
        SentimentReading,
        CustomerMerge,
        MergeProposal,
        IntentCorrection,
    ):
        if not auditlog.contains(model):
            auditlog.register(model)
    if not auditlog.contains(Message):
        # The words themselves stay out of the change log: it is kept longer than messages are.
        auditlog.register(Message, mask_fields=["text", "raw_text"])


def access_record(
    *,
    actor: Actor,
    customer: Customer,
    partitions: Iterable[Partition],
    purpose: str,
    outcome: str,
    correlation_id: str = "",
    detail: dict[str, object] | None = None,
) -> AuditEntry:
    """Write the ACCESS entry for one read of a customer's context, granted or refused."""
    user = actor.user
    return chained_entry_write(
        target=customer,
        action=AuditEntry.Action.ACCESS,
        actor_user=user if user is not None and user.pk is not None else None,
        actor_label=actor.label,
        purpose=purpose,
        partitions=sorted(p.value for p in partitions),
        outcome=outcome,
        correlation_id=correlation_id,
        detail=detail,
    )


def chained_entry_write(
    *,
    target: Model,
    action: int,
    actor_label: str,
    purpose: str,
    actor_user: User | None = None,
    partitions: list[str] | None = None,
    outcome: str = "",
    correlation_id: str = "",
    detail: dict[str, object] | None = None,
) -> AuditEntry:
    """Append one entry to the tamper-evident trail, in the caller's transaction: three
    statements whatever the load (lock and advance a shard head, store its new hash, insert)."""
    entry = AuditEntry(
        content_type=ContentType.objects.get_for_model(target),
        object_pk=str(target.pk),
        object_id=target.pk if isinstance(target.pk, int) else None,
        object_repr=smart_str(target),
        action=action,
        changes=None,
        actor=actor_user,
        actor_label=actor_label[:150],
        purpose=purpose[:200],
        partitions=partitions or [],
        outcome=outcome,
        cid=correlation_id or get_cid(),
        additional_data=detail or None,
        timestamp=timezone.now(),
    )
    entry.save(force_insert=True)
    return entry
