"""The context graph in the Django admin.

Graph pages are read-only (changes go through services, via admin actions), and opening a
customer's page, or one of their messages, facts or cases, reads context through the gate:
each opening is an audited access, and a person sees only the partitions they hold.
"""

from __future__ import annotations

import copy
import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, TypedDict, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django_stubs_ext import WithAnnotations

from memory import gdpr, services
from memory.actors import Partition, UserActor
from memory.identities import InvalidAddress, normalize_email, normalize_phone
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
from memory.selectors import ContextAccessRefused, context_read, customers_shown

_Row = TypeVar("_Row", bound=Model)
# The graph rows that belong to one customer: opening one reads that customer's context.
_CustomerRow = TypeVar(
    "_CustomerRow", bound=Identity | Conversation | Message | Case | Fact | SentimentReading
)


def user_partitions(request: HttpRequest) -> frozenset[Partition]:
    """The context partitions the signed-in person may read."""
    actor = UserActor.of(request.user)
    return frozenset(p for p in Partition if actor.may_read(p))


def customer_number(customer_id: int | None) -> str:
    """A customer as a person without `profile` sees them in a list: their number only."""
    return f"Customer #{customer_id}" if customer_id is not None else "-"


class ReadOnlyGraphAdmin(admin.ModelAdmin[_Row]):
    """Graph rows change through services only, so the admin shows them and never edits them.

    What a page shows of a customer follows the partitions the person holds, as the gate's
    pack does: a list column or a search field that reveals a partition is there only for
    those holding it (`guarded_columns`, `guarded_search`), text comes masked without `pii`
    (`masked_fields`), and every customer a list page shows is a read through the gate of
    what it showed of them, so the page is in the access log (one entry per customer)."""

    # Which partition a page of this model reads, and how to find the row's customer.
    context_partitions: tuple[Partition, ...] = ()
    # List columns that show a partition: (partition, the column shown instead, or None).
    guarded_columns: dict[str, tuple[Partition, str | None]] = {}
    # Search fields that find by a partition: searching by it would say what it holds.
    guarded_search: dict[str, Partition] = {}
    # Text fields whose contact details are masked on the page for a person without `pii`.
    masked_fields: tuple[str, ...] = ()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _Row | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _Row | None = None) -> bool:
        return False

    def customer_of(self, obj: _Row) -> Customer:
        """Whose context the row's page reads; only admins with `context_partitions` ask."""
        raise NotImplementedError(f"{type(self).__name__} does not say whose context it shows")

    def customers_listed(self, obj: _Row) -> Iterable[Customer]:
        """The customers a list row shows something of (none by default)."""
        return ()

    def get_list_display(self, request: HttpRequest) -> Any:
        held = user_partitions(request)
        shown: list[Any] = []
        for column in super().get_list_display(request):
            guard = self.guarded_columns.get(column) if isinstance(column, str) else None
            if guard is None or guard[0] in held:
                shown.append(column)
            elif guard[1] is not None:
                shown.append(guard[1])
        return shown

    def get_search_fields(self, request: HttpRequest) -> Any:
        held = user_partitions(request)
        return [
            field
            for field in super().get_search_fields(request)
            if field not in self.guarded_search or self.guarded_search[field] in held
        ]

    def action_checkbox(self, obj: _Row) -> SafeString:
        # Django labels the box with str(obj): a customer's name, a fact's value. The number
        # says which row it is without saying anything of whom.
        attrs = {
            "class": "action-select",
            "aria-label": f"Select {self.opts.verbose_name} #{obj.pk} for an action",
        }
        checkbox = forms.CheckboxInput(attrs, lambda value: False)
        return mark_safe(checkbox.render(helpers.ACTION_CHECKBOX_NAME, str(obj.pk)))  # noqa: S308 - the widget escapes

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[_Row], search_term: str
    ) -> tuple[QuerySet[_Row], bool]:
        if search_term.strip() and not self.get_search_fields(request):
            return queryset.none(), False  # nothing this person may search by: nothing found
        return super().get_search_results(request, queryset, search_term)

    def list_partitions(self, request: HttpRequest) -> frozenset[Partition]:
        """What a list page showed of its customers (and found them by): the guarded columns
        and search fields the person holds and used."""
        held = user_partitions(request)
        shown = {p for p, _ in self.guarded_columns.values() if p in held}
        if request.GET.get("q"):
            shown |= {p for p in self.guarded_search.values() if p in held}
        return frozenset(shown)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is None:
            return response  # a redirect (an action ran) or an error page: nothing listed
        rows = list(changelist.result_list)
        changelist.result_list = rows  # read once, here and by the template
        customers: dict[int, Customer] = {}
        for row in rows:
            for customer in self.customers_listed(row):
                customers.setdefault(customer.pk, customer)
        if customers:
            try:
                customers_shown(
                    actor=UserActor.of(request.user),
                    customers=customers.values(),
                    partitions=self.list_partitions(request),
                    purpose=f"admin: {self.opts.verbose_name_plural} list",
                    correlation_id=request.headers.get("X-Correlation-ID", ""),
                )
            except ContextAccessRefused as refusal:
                raise PermissionDenied(str(refusal)) from refusal
        return response

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> _Row | None:
        obj = super().get_object(request, object_id, from_field)
        if obj is None or not self.masked_fields or Partition.PII in user_partitions(request):
            return obj
        # The page is read-only: the row shown is a copy with its contact details masked.
        shown = copy.copy(obj)
        redactor = Redactor()
        for name in self.masked_fields:
            setattr(shown, name, redactor.text(str(getattr(shown, name) or "")))
        return shown

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        partitions = self.partitions_shown(request)
        if obj is not None and partitions:
            self.record_context_access(request, obj, partitions)
        return super().change_view(request, object_id, form_url, extra_context)

    def partitions_shown(self, request: HttpRequest) -> tuple[Partition, ...]:
        return self.context_partitions

    def record_context_access(
        self, request: HttpRequest, obj: _Row, partitions: tuple[Partition, ...]
    ) -> None:
        """Read the row's customer context through the gate: the audited access of this page."""
        try:
            context_read(
                actor=UserActor.of(request.user),
                customer=self.customer_of(obj),
                partitions=partitions,
                purpose=f"admin: {self.opts.verbose_name} #{obj.pk}",
                correlation_id=request.headers.get("X-Correlation-ID", ""),
            )
        except ContextAccessRefused as refusal:
            raise PermissionDenied(str(refusal)) from refusal


class CustomerRowAdmin(ReadOnlyGraphAdmin[_CustomerRow]):
    """A graph row that belongs to one customer, whose context its page reads; its list names
    the customer only to a person holding `profile`."""

    guarded_columns = {"customer": (Partition.PROFILE, "customer_shown")}
    guarded_search = {"customer__display_name": Partition.PROFILE}

    def customer_of(self, obj: _CustomerRow) -> Customer:
        return obj.customer

    def customers_listed(self, obj: _CustomerRow) -> Iterable[Customer]:
        return (obj.customer,)

    @admin.display(description="customer", ordering="customer_id")
    def customer_shown(self, obj: _CustomerRow) -> str:
        return customer_number(obj.customer_id)


class CustomerRowInline(admin.TabularInline[_CustomerRow, Customer]):
    """A customer's rows of one kind on their page: shown, never added or deleted there."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Customer | None = None) -> bool:
        return False


def masked_text(value: str) -> str:
    return Redactor().text(value or "")


class MaskedInline(CustomerRowInline[_CustomerRow]):
    """An inline whose text fields a person without `pii` sees masked (`<field>_masked`)."""

    masked_fields: tuple[str, ...] = ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if Partition.PII in user_partitions(request):
            return fields
        return [f"{name}_masked" if name in self.masked_fields else name for name in fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)


class IdentityInline(CustomerRowInline[Identity]):
    model = Identity
    fields = ("kind", "value", "verified", "source", "created_at")
    readonly_fields = fields


class ConversationInline(MaskedInline[Conversation]):
    model = Conversation
    fields = ("channel", "status", "subject", "started_at", "last_message_at", "previous")
    readonly_fields = fields
    masked_fields = ("subject",)

    @admin.display(description="subject")
    def subject_masked(self, obj: Conversation) -> str:
        return masked_text(obj.subject)


class CaseInline(MaskedInline[Case]):
    model = Case
    fields = ("kind", "reference", "status", "title", "opened_at", "closed_at")
    readonly_fields = fields
    masked_fields = ("title",)

    @admin.display(description="title")
    def title_masked(self, obj: Case) -> str:
        return masked_text(obj.title)


class FactInline(MaskedInline[Fact]):
    """Current values and their history: a replaced value shows when it stopped being true
    (masked, current or replaced, for a person without `pii`)."""

    model = Fact
    fk_name = "customer"
    fields = ("key", "value", "case", "confidence", "asserted_by", "valid_from", "valid_until")
    readonly_fields = fields
    masked_fields = ("value",)

    @admin.display(description="value")
    def value_masked(self, obj: Fact) -> str:
        return masked_text(obj.value)

    ordering = ("key", "-valid_from")
    verbose_name_plural = "facts (current have no 'valid until'; the rest are history)"


class SentimentInline(CustomerRowInline[SentimentReading]):
    model = SentimentReading
    fields = ("read_at", "label", "score", "confidence", "model_name", "message")
    readonly_fields = fields
    ordering = ("-read_at",)
    show_change_link = False


# Which partition each customer-page inline shows.
CUSTOMER_INLINES: tuple[tuple[type[CustomerRowInline[Any]], Partition], ...] = (
    (IdentityInline, Partition.PII),
    (ConversationInline, Partition.MESSAGES),
    (CaseInline, Partition.BUSINESS),
    (FactInline, Partition.BUSINESS),
    (SentimentInline, Partition.EMOTION),
)


class CustomerTotals(TypedDict):
    """What the customer list annotates each customer with."""

    identity_total: int
    last_message: datetime | None


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
        """Also find customers by a phone or e-mail written any way a person would type it."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if Partition.IDENTITIES not in user_partitions(request):
            return results, may_have_duplicates  # finding by phone would say whose it is
        normalised: list[str] = []
        for normalise in (normalize_phone, normalize_email):
            try:
                normalised.append(normalise(search_term))
            except InvalidAddress:
                continue
        if normalised:
            results |= queryset.filter(Q(identities__value__in=normalised))
            may_have_duplicates = True
        return results, may_have_duplicates

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
    """Lists show who and when; the words are on the message page, which is an audited read."""

    list_display = (
        "id",
        "customer",
        "channel",
        "direction",
        "author",
        "delivery_status",
        "sent_at",
    )
    list_filter = ("channel", "direction", "author", "delivery_status")
    search_fields = ("provider_id", "customer__display_name")
    list_select_related = ("customer",)
    date_hierarchy = "sent_at"
    context_partitions = (Partition.MESSAGES,)
    masked_fields = ("text", "raw_text", "gist")


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
    list_display = ("id", "key", "customer", "case", "asserted_by", "valid_from", "valid_until")
    list_filter = ("asserted_by", ("valid_until", admin.EmptyFieldListFilter), "key")
    search_fields = ("key", "case__reference")
    list_select_related = ("customer", "case")
    context_partitions = (Partition.BUSINESS,)
    guarded_columns = {"case": (Partition.BUSINESS, None), **CustomerRowAdmin.guarded_columns}
    guarded_search = {"key": Partition.BUSINESS, "case__reference": Partition.BUSINESS}
    masked_fields = ("value",)


@admin.register(SentimentReading)
class SentimentReadingAdmin(CustomerRowAdmin[SentimentReading]):
    list_display = ("id", "customer", "label", "score", "model_name", "read_at")
    list_filter = ("label", "model_name")
    list_select_related = ("customer",)
    context_partitions = (Partition.EMOTION,)


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
