"""Compliance: the access log, filtered, exported as CSV, each entry showing of a customer only
what the viewer's partitions allow."""

from __future__ import annotations

import copy
import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path

from memory.actors import Partition, UserActor
from memory.admin.base import user_partitions
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
from memory.redaction import Redactor
from memory.selectors import ContextAccessRefused, customers_shown

# Compliance: the access log ---------------------------------------------------------------------

if admin.site.is_registered(AuditEntry):
    # auditlog registers its own LogEntryAdmin for the swapped model (jazzband/django-auditlog#812).
    admin.site.unregister(AuditEntry)

ACCESS_LOG_COLUMNS = (
    "timestamp",
    "seq",
    "action",
    "actor_label",
    "customer_id",
    "partitions",
    "purpose",
    "outcome",
    "cid",
)


# What an audit entry about a graph row holds of the customer (its object's name, the values
# its change entries copied), by the row's model: shown to a person holding these partitions,
# masked without `pii`, and the showing is a read of that customer through the gate.
ENTRY_PARTITIONS: dict[type[Model], frozenset[Partition]] = {
    Customer: frozenset({Partition.PROFILE}),
    Identity: frozenset({Partition.IDENTITIES}),
    Conversation: frozenset({Partition.MESSAGES}),
    Message: frozenset({Partition.MESSAGES}),
    Case: frozenset({Partition.BUSINESS}),
    Fact: frozenset({Partition.BUSINESS}),
    SentimentReading: frozenset({Partition.EMOTION}),
    CustomerMerge: frozenset({Partition.PROFILE}),
    MergeProposal: frozenset({Partition.PROFILE}),
    IntentCorrection: frozenset({Partition.MESSAGES}),
}
_ENTRY_CUSTOMER_COLUMN: dict[type[Model], str] = {
    Customer: "pk",
    CustomerMerge: "target_id",
    IntentCorrection: "message__customer_id",
}


def entry_customer(model: type[Model], object_id: int | None) -> Customer | None:
    """The customer a graph row (by model and id) belongs to, None once the row is gone."""
    if object_id is None:
        return None
    column = _ENTRY_CUSTOMER_COLUMN.get(model, "customer_id")
    owner = model._default_manager.filter(pk=object_id).values_list(column, flat=True).first()
    return Customer.objects.filter(pk=owner).first() if owner is not None else None


def entry_masked(entry: AuditEntry, held: frozenset[Partition]) -> tuple[AuditEntry, bool]:
    """The entry as a person holding `held` may see it, and whether it shows any of the
    customer's data in clear or masked (which makes showing it a read of their context)."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    needs = ENTRY_PARTITIONS.get(model) if model is not None else None
    if needs is None:
        return entry, False
    shown = copy.copy(entry)
    if not needs <= held:
        hidden = f"[hidden: needs {', '.join(sorted(p.value for p in needs))}]"
        label = model._meta.verbose_name if model is not None else "record"
        shown.object_repr = f"{label} #{entry.object_pk}"
        shown.changes = {field: [hidden, hidden] for field in entry.changes or {}} or None
        shown.changes_text = ""
        shown.serialized_data = None
        return shown, False
    if Partition.PII not in held:
        redactor = Redactor()

        def masked(value: Any) -> Any:
            return redactor.text(value) if isinstance(value, str) else value

        shown.object_repr = masked(entry.object_repr)
        shown.changes = {
            field: [masked(value) for value in values] if isinstance(values, list) else values
            for field, values in (entry.changes or {}).items()
        } or None
        shown.changes_text = masked(entry.changes_text or "")
        shown.serialized_data = None
    return shown, True


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    """Who read which customer's context, when, why and with what outcome; read-only.

    An entry about a customer's row carries what was true of them (the row's name, the values
    a change replaced): its page shows that only to a person holding the row's partition,
    masked without `pii`, and the showing is a read of that customer through the gate."""

    list_display = (
        "timestamp",
        "actor_label",
        "customer_link",
        "partitions",
        "purpose",
        "outcome",
        "cid",
        "seq",
    )
    list_filter = ("action", "outcome", "timestamp", "content_type")
    search_fields = ("=actor_label", "=cid", "=object_pk")
    search_help_text = "Exact actor (agent:intent, user:sam), correlation id or customer id."
    date_hierarchy = "timestamp"
    list_select_related = ("content_type", "actor")
    actions = ("export_csv",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # Links from a customer's page and filters by actor or purpose arrive as query strings.
        if lookup in ("object_id", "actor_label", "purpose__icontains", "cid"):
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="object", ordering="object_id")
    def customer_link(self, obj: AuditEntry) -> str:
        # AbstractLogEntry is untyped; object_pk is its CharField, so str() changes nothing.
        if obj.content_type_id is None:
            return str(obj.object_pk)
        model = obj.content_type.model
        return f"{model} #{obj.object_pk}"

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> AuditEntry | None:
        entry = super().get_object(request, object_id, from_field)
        if entry is None:
            return None
        held = user_partitions(request)
        shown, reveals = entry_masked(entry, held)
        model = entry.content_type.model_class() if entry.content_type_id else None
        if reveals and model is not None:
            customer = entry_customer(model, entry.object_id)
            if customer is None:
                # Whose it was is no longer known, so the read cannot be recorded: hide it.
                shown, _ = entry_masked(entry, frozenset())
            else:
                try:
                    customers_shown(
                        actor=UserActor.of(request.user),
                        customers=[customer],
                        partitions=ENTRY_PARTITIONS[model] | (held & {Partition.PII}),
                        purpose=f"admin: audit entry #{entry.pk}",
                        correlation_id=request.headers.get("X-Correlation-ID", ""),
                    )
                except ContextAccessRefused as refusal:
                    raise PermissionDenied(str(refusal)) from refusal
        return shown

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_view),
            name="memory_auditentry_export",
        )
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """The access log as CSV, filtered as the change list is (same query string)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return access_log_csv(changelist.get_queryset(request))

    @admin.action(description="Export the selected entries as CSV")
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[AuditEntry]
    ) -> StreamingHttpResponse:
        return access_log_csv(queryset)


class _Echo:
    def write(self, value: str) -> str:
        return value


def access_log_csv(queryset: QuerySet[AuditEntry]) -> StreamingHttpResponse:
    """Stream entries as CSV, so a long log does not sit in memory."""
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(ACCESS_LOG_COLUMNS)
        for entry in queryset.order_by("timestamp", "pk").iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    entry.timestamp.isoformat(),
                    entry.seq or "",
                    entry.get_action_display(),
                    entry.actor_label,
                    entry.object_pk,
                    " ".join(entry.partitions or []),
                    entry.purpose,
                    entry.outcome,
                    entry.cid or "",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="access-log.csv"'
    return response
