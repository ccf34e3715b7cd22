"""Everything held about one customer, for a data subject's access request (read through
the gate)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memory.models import (
    AuditEntry,
    Case,
    Conversation,
    Customer,
    CustomerMerge,
    Fact,
    Identity,
    Message,
    SentimentReading,
)

if TYPE_CHECKING:
    pass


CustomerDossier = dict[str, Any]


def dossier_build(customer: Customer) -> CustomerDossier:
    """Every row held about one customer, JSON-ready; a query per kind of row."""
    from django.contrib.contenttypes.models import ContentType

    def rows(queryset: Any, *fields: str) -> list[dict[str, Any]]:
        return [json_ready(row) for row in queryset.values(*fields)]

    customer_type = ContentType.objects.get_for_model(Customer)
    return {
        "profile": json_ready(
            {
                "customer_id": customer.pk,
                "display_name": customer.display_name,
                "external_id": customer.external_id,
                "created_at": customer.created_at,
                "erased_at": customer.erased_at,
            }
        ),
        "identities": rows(
            Identity.objects.filter(customer=customer).order_by("pk"),
            "kind",
            "value",
            "verified",
            "source",
            "created_at",
        ),
        "conversations": rows(
            Conversation.objects.filter(customer=customer).order_by("started_at", "pk"),
            "id",
            "channel",
            "status",
            "subject",
            "summary",
            "mode",
            "started_at",
            "last_message_at",
            "closed_at",
        ),
        "messages": rows(
            Message.objects.filter(customer=customer).order_by("sent_at", "pk"),
            "id",
            "conversation_id",
            "channel",
            "direction",
            "author",
            "author_agent",
            "text",
            "raw_text",
            "gist",
            "delivery_status",
            "sent_at",
        ),
        "cases": rows(
            Case.objects.filter(customer=customer).order_by("opened_at", "pk"),
            "id",
            "kind",
            "reference",
            "status",
            "title",
            "opened_at",
            "closed_at",
        ),
        "facts": rows(
            Fact.objects.filter(customer=customer).order_by("key", "valid_from", "pk"),
            "id",
            "key",
            "value",
            "case_id",
            "confidence",
            "asserted_by",
            "asserted_by_agent",
            "source_message_id",
            "valid_from",
            "valid_until",
            "replaced_by_id",
        ),
        "sentiment": rows(
            SentimentReading.objects.filter(customer=customer).order_by("read_at", "pk"),
            "message_id",
            "label",
            "score",
            "confidence",
            "model_name",
            "read_at",
        ),
        "merges": rows(
            CustomerMerge.objects.filter(target=customer).order_by("merged_at"),
            "source_customer_id",
            "merged_by",
            "reason",
            "merged_at",
        ),
        "access_log": rows(
            AuditEntry.objects.filter(
                content_type=customer_type,
                object_id=customer.pk,
                action=AuditEntry.Action.ACCESS,
            ).order_by("timestamp", "pk"),
            "timestamp",
            "actor_label",
            "purpose",
            "partitions",
            "outcome",
            "cid",
        ),
    }


def json_ready(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if hasattr(value, "isoformat") else value
        for key, value in row.items()
    }
