"""The graph's pages: customers (with their merge, export and erase actions) and the rows that
belong to them, each opening audited as a context read."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django_stubs_ext import WithAnnotations

from memory import gdpr, services
from memory.actors import Partition, UserActor
from memory.admin.base import (
    CUSTOMER_INLINES,
    CustomerRowAdmin,
    CustomerTotals,
    ReadOnlyGraphAdmin,
    customer_number,
    list_text,
    user_partitions,
)
from memory.identities import InvalidAddress, normalize_email, normalize_phone
from memory.models import (
    Case,
    ChannelSwitch,
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
from memory.selectors import ContextAccessRefused


@admin.register(Customer)
class CustomerAdmin(ReadOnlyGraphAdmin[Customer]):
    list_display = ("id", "display_name", "identity_count", "last_contact", "merged_into")
    list_filter = (("merged_into", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("display_name", "external_id", "identities__value", "cases__reference")
    search_help_text = (
        "Name, phone (any format), e-mail, CRM id or case reference, as far as the context "
        "partitions you hold allow."
    )
    guarded_columns = {
        "display_name": (Partition.PROFILE, "customer_shown"),
        "merged_into": (Partition.PROFILE, "merged_into_shown"),
    }
    guarded_search = {
        "display_name": Partition.PROFILE,
        "external_id": Partition.PROFILE,
        "identities__value": Partition.IDENTITIES,
        "cases__reference": Partition.BUSINESS,
    }
    masked_fields = ("display_name",)

    def customers_listed(self, obj: Customer) -> Iterable[Customer]:
        return (obj,)

    @admin.display(description="customer", ordering="pk")
    def customer_shown(self, obj: Customer) -> str:
        return customer_number(obj.pk)

    @admin.display(description="merged into", ordering="merged_into_id")
    def merged_into_shown(self, obj: Customer) -> str:
        return customer_number(obj.merged_into_id) if obj.merged_into_id else "-"

    readonly_fields = (
        "display_name",
        "external_id",
        "merged_into",
        "created_at",
        "updated_at",
        "erased_at",
        "who_accessed",
    )
    actions = ("merge_selected", "export_selected", "erase_selected")

    def get_readonly_fields(self, request: HttpRequest, obj: Customer | None = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("memory.view_auditentry"):
            # A link that would only answer 403: say instead who may follow it.
            fields = [
                "who_accessed_unavailable" if name == "who_accessed" else name for name in fields
            ]
        return fields

    @admin.display(description="who accessed this customer")
    def who_accessed_unavailable(self, obj: Customer) -> str:
        return (
            "The access log is open to supervisors and compliance officers; ask an "
            "administrator for one of those roles to see who read this customer."
        )

    @admin.display(description="who accessed this customer")
    def who_accessed(self, obj: Customer) -> str:
        url = reverse("admin:memory_auditentry_changelist")
        content_type = ContentType.objects.get_for_model(Customer)
        return format_html(
            '<a href="{}?content_type__id__exact={}&object_id={}">the access log</a>',
            url,
            content_type.pk,
            obj.pk,
        )

    @admin.action(description="Export everything held about the selected customers (JSON)")
    def export_selected(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse:
        try:
            dossiers = [
                gdpr.customer_export(actor=UserActor.of(request.user), customer=customer)
                for customer in queryset
            ]
        except ContextAccessRefused as refusal:
            raise PermissionDenied(str(refusal)) from refusal
        response = HttpResponse(
            json.dumps(dossiers, indent=2, ensure_ascii=False), content_type="application/json"
        )
        response["Content-Disposition"] = 'attachment; filename="customer-export.json"'
        return response

    @admin.action(
        description="Erase the selected customers' personal data (irreversible)",
        permissions=["delete"],
    )
    def erase_selected(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        for customer in queryset:
            gdpr.customer_erase(
                customer=customer,
                erased_by=UserActor.of(request.user).label,
                reason="erasure requested in the admin",
            )
        self.message_user(request, f"Erased {queryset.count()} customer(s).", messages.WARNING)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Erasure, not deletion: the admin's delete is replaced by the erase action.
        return obj is None and bool(request.user.has_perm("memory.delete_customer"))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return (
            super()
            .get_queryset(request)
            .select_related("merged_into")
            .annotate(
                identity_total=Count("identities", distinct=True),
                last_message=Max("messages__sent_at"),
            )
        )

    @admin.display(description="identities", ordering="identity_total")
    def identity_count(self, obj: WithAnnotations[Customer, CustomerTotals]) -> int:
        return obj.identity_total

    @admin.display(description="last contact", ordering="last_message")
    def last_contact(self, obj: WithAnnotations[Customer, CustomerTotals]) -> datetime | None:
        return obj.last_message

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        """Also find customers by a phone or e-mail written any way a person would type it.

        What matched is found apart from the listed rows (a set of ids), so the search's
        joins never reach the list's annotations: a customer found by one of their three
        identities still counts three, and appears once."""
        if not search_term.strip():
            return queryset, False
        found, _ = super().get_search_results(request, Customer.objects.all(), search_term)
        matched = Q(pk__in=found.order_by().values("pk"))
        if Partition.IDENTITIES in user_partitions(request):
            # Only then: finding by phone would say whose it is.
            normalised: list[str] = []
            for normalise in (normalize_phone, normalize_email):
                try:
                    normalised.append(normalise(search_term))
                except InvalidAddress:
                    continue
            if normalised:
                matched |= Q(
                    pk__in=Identity.objects.filter(value__in=normalised).values("customer_id")
                )
        return queryset.filter(matched), False

    def get_inlines(
        self, request: HttpRequest, obj: Customer | None
    ) -> list[type[InlineModelAdmin[Any, Customer]]]:
        granted = user_partitions(request)
        return [inline for inline, partition in CUSTOMER_INLINES if partition in granted]

    def customer_of(self, obj: Customer) -> Customer:
        return obj

    def partitions_shown(self, request: HttpRequest) -> tuple[Partition, ...]:
        # The customer page shows every partition the person holds, so it reads all of them.
        granted = tuple(sorted(user_partitions(request)))
        if not granted:
            raise PermissionDenied("no customer context partitions granted")
        return granted

    @admin.action(description="Merge the selected customers (into the oldest record)")
    def merge_selected(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        customers = sorted(queryset, key=lambda c: c.created_at)
        if len(customers) < 2:
            self.message_user(request, "Select at least two customers.", messages.WARNING)
            return
        target = customers[0]
        for source in customers[1:]:
            services.customer_merge(
                source=source,
                target=target,
                merged_by=UserActor.of(request.user).label,
                reason="merged in the admin",
            )
        self.message_user(request, f"Merged {len(customers) - 1} record(s) into {target}.")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Needed for actions to show; the form itself is all read-only fields.
        return bool(request.user.has_perm("memory.change_customer"))


@admin.register(Identity)
class IdentityAdmin(CustomerRowAdmin[Identity]):
    list_display = ("id", "kind", "customer", "verified", "source", "created_at")
    list_filter = ("kind", "verified")
    search_fields = ("value",)
    list_select_related = ("customer",)
    context_partitions = (Partition.PII,)
    guarded_search = {"value": Partition.IDENTITIES, **CustomerRowAdmin.guarded_search}


@admin.register(Conversation)
class ConversationAdmin(CustomerRowAdmin[Conversation]):
    list_display = ("id", "customer", "channel", "status", "started_at", "last_message_at")
    list_filter = ("channel", "status")
    search_fields = ("customer__display_name", "subject")
    list_select_related = ("customer",)
    date_hierarchy = "last_message_at"
    context_partitions = (Partition.MESSAGES,)
    guarded_search = {"subject": Partition.MESSAGES, **CustomerRowAdmin.guarded_search}
    masked_fields = ("subject", "summary", "thread_key")


@admin.register(Message)
class MessageAdmin(CustomerRowAdmin[Message]):
    """Newest first, with the words (masked without `pii`) to a person holding `messages`:
    showing them is a read of each listed customer's messages, as the message page is."""

    list_display = (
        "id",
        "sent_at",
        "customer",
        "channel",
        "direction",
        "author",
        "text_shown",
        "delivery_status",
    )
    list_filter = ("channel", "direction", "author", "delivery_status")
    search_fields = ("provider_id", "customer__display_name")
    list_select_related = ("customer",)
    date_hierarchy = "sent_at"
    ordering = ("-sent_at", "-pk")
    context_partitions = (Partition.MESSAGES,)
    guarded_columns = {
        "text_shown": (Partition.MESSAGES, None),
        **CustomerRowAdmin.guarded_columns,
    }
    masked_columns = {"text_shown": "text_masked"}
    masked_fields = ("text", "raw_text", "gist")

    @admin.display(description="text")
    def text_shown(self, obj: Message) -> str:
        return list_text(obj.text, masked=False)

    @admin.display(description="text (contact details masked)")
    def text_masked(self, obj: Message) -> str:
        return list_text(obj.text, masked=True)


@admin.register(Case)
class CaseAdmin(CustomerRowAdmin[Case]):
    list_display = ("id", "kind", "reference", "status", "customer", "opened_at", "updated_at")
    list_filter = ("kind", "status")
    search_fields = ("reference", "title")
    list_select_related = ("customer",)
    context_partitions = (Partition.BUSINESS,)
    guarded_columns = {
        "reference": (Partition.BUSINESS, None),
        **CustomerRowAdmin.guarded_columns,
    }
    guarded_search = {"reference": Partition.BUSINESS, "title": Partition.BUSINESS}
    masked_fields = ("title", "reference")


@admin.register(Fact)
class FactAdmin(CustomerRowAdmin[Fact]):
    """Each fact with its value (masked without `pii`) to a person holding `business`."""

    list_display = (
        "id",
        "key",
        "value_shown",
        "customer",
        "case",
        "asserted_by",
        "valid_from",
        "valid_until",
    )
    list_filter = ("asserted_by", ("valid_until", admin.EmptyFieldListFilter), "key")
    search_fields = ("key", "case__reference")
    list_select_related = ("customer", "case")
    ordering = ("-valid_from", "-pk")
    context_partitions = (Partition.BUSINESS,)
    guarded_columns = {
        "value_shown": (Partition.BUSINESS, None),
        "case": (Partition.BUSINESS, None),
        **CustomerRowAdmin.guarded_columns,
    }
    masked_columns = {"value_shown": "value_masked"}
    guarded_search = {"key": Partition.BUSINESS, "case__reference": Partition.BUSINESS}
    masked_fields = ("value",)

    @admin.display(description="value")
    def value_shown(self, obj: Fact) -> str:
        return list_text(obj.value, masked=False)

    @admin.display(description="value (contact details masked)")
    def value_masked(self, obj: Fact) -> str:
        return list_text(obj.value, masked=True)


@admin.register(SentimentReading)
class SentimentReadingAdmin(CustomerRowAdmin[SentimentReading]):
    list_display = ("id", "customer", "label", "score", "model_name", "read_at")
    list_filter = ("label", "model_name")
    list_select_related = ("customer",)
    context_partitions = (Partition.EMOTION,)


@admin.register(ChannelSwitch)
class ChannelSwitchAdmin(CustomerRowAdmin[ChannelSwitch]):
    """A customer's move between channels and what was carried over; the handover summary
    is their conversation's words, so opening one is a read of their messages."""

    list_display = (
        "id",
        "created_at",
        "customer",
        "from_conversation_id",
        "to_conversation_id",
        "latency_ms",
    )
    list_select_related = ("customer",)
    date_hierarchy = "created_at"
    context_partitions = (Partition.MESSAGES,)
    masked_fields = ("handover_summary",)


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyGraphAdmin[CustomerMerge]):
    list_display = ("id", "source_customer_id", "target", "merged_by", "merged_at")
    search_fields = ("merged_by", "source_display_name")
    list_select_related = ("target",)
    guarded_columns = {"target": (Partition.PROFILE, "target_shown")}
    guarded_search = {"source_display_name": Partition.PROFILE}
    # Its page names both records: a read of the surviving customer's profile.
    context_partitions = (Partition.PROFILE,)

    def customer_of(self, obj: CustomerMerge) -> Customer:
        return obj.target

    def customers_listed(self, obj: CustomerMerge) -> Iterable[Customer]:
        return (obj.target,)

    @admin.display(description="merged into", ordering="target_id")
    def target_shown(self, obj: CustomerMerge) -> str:
        return customer_number(obj.target_id)


@admin.register(MergeProposal)
class MergeProposalAdmin(ReadOnlyGraphAdmin[MergeProposal]):
    list_display = ("id", "customer", "other_customer", "status", "proposed_by", "created_at")
    list_filter = ("status",)
    list_select_related = ("customer", "other_customer")
    actions = ("accept", "reject")
    guarded_columns = {
        "customer": (Partition.PROFILE, "customer_shown"),
        "other_customer": (Partition.PROFILE, "other_customer_shown"),
    }
    masked_fields = ("reason",)
    # Its page names both records and why they look alike: a read of their profiles.
    context_partitions = (Partition.PROFILE,)

    def customer_of(self, obj: MergeProposal) -> Customer:
        return obj.customer

    def customers_listed(self, obj: MergeProposal) -> Iterable[Customer]:
        return (obj.customer, obj.other_customer)

    @admin.display(description="customer", ordering="customer_id")
    def customer_shown(self, obj: MergeProposal) -> str:
        return customer_number(obj.customer_id)

    @admin.display(description="other customer", ordering="other_customer_id")
    def other_customer_shown(self, obj: MergeProposal) -> str:
        return customer_number(obj.other_customer_id)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("memory.change_mergeproposal"))

    @admin.action(description="Accept: merge the two customers")
    def accept(self, request: HttpRequest, queryset: QuerySet[MergeProposal]) -> None:
        for proposal in queryset.filter(status=MergeProposal.Status.PENDING):
            services.merge_proposal_decide(
                proposal=proposal, accept=True, decided_by=UserActor.of(request.user).label
            )

    @admin.action(description="Reject: they are different people")
    def reject(self, request: HttpRequest, queryset: QuerySet[MergeProposal]) -> None:
        for proposal in queryset.filter(status=MergeProposal.Status.PENDING):
            services.merge_proposal_decide(
                proposal=proposal, accept=False, decided_by=UserActor.of(request.user).label
            )


@admin.register(IntentCorrection)
class IntentCorrectionAdmin(ReadOnlyGraphAdmin[IntentCorrection]):
    list_display = ("id", "message", "predicted_intent", "corrected_intent", "corrected_by")
    list_filter = ("corrected_intent",)
    list_select_related = ("message", "corrected_by")
