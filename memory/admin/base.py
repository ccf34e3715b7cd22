"""The admin's shared shapes for graph rows: read-only pages whose opening is a read of
the customer's context through the gate, and the inlines of a customer's page."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from memory.actors import Partition, UserActor
from memory.models import (
    Case,
    ChannelSwitch,
    Conversation,
    Customer,
    Fact,
    Identity,
    Message,
    SentimentReading,
)
from memory.redaction import Redactor
from memory.selectors import ContextAccessRefused, context_read, customers_shown

_Row = TypeVar("_Row", bound=Model)
# The graph rows that belong to one customer: opening one reads that customer's context.
_CustomerRow = TypeVar(
    "_CustomerRow",
    bound=Identity | Conversation | Message | Case | Fact | SentimentReading | ChannelSwitch,
)
# How much of a message or a value a list cell shows; the whole is on the row's own page.
LIST_TEXT_CHARS = 90


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
    # List columns showing words in clear, and the column showing them masked instead to a
    # person without `pii` (the clear one is a read of `pii` too).
    masked_columns: dict[str, str] = {}

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _Row | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _Row | None = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: _Row | None = None) -> Any:
        """Every field is shown read-only, even to a person whose change permission exists
        only so an admin action (merge, accept) shows: no form field, nothing to post."""
        declared = list(super().get_readonly_fields(request, obj))
        editable = [
            field.name
            for field in (*self.opts.concrete_fields, *self.opts.many_to_many)
            if field.editable and not field.auto_created and field.name not in declared
        ]
        return [*editable, *declared]

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
            if guard is not None and guard[0] not in held:
                if guard[1] is not None:
                    shown.append(guard[1])
                continue
            if column in self.masked_columns and Partition.PII not in held:
                shown.append(self.masked_columns[column])
            else:
                shown.append(column)
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
        if self.masked_columns and Partition.PII in held:
            shown.add(Partition.PII)  # words in clear, contact details and all
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
        if request.method == "POST":
            # Nothing on a graph page is a form field; a hand-made POST changes nothing.
            messages.error(
                request,
                f"This {self.opts.verbose_name} is read-only here: nothing was saved. Graph "
                "rows change through the console and the admin actions, which record why.",
            )
            return HttpResponseRedirect(request.path)
        obj = self.get_object(request, object_id)
        partitions = self.partitions_shown(request)
        if obj is not None and partitions:
            self.record_context_access(request, obj, partitions)
        read_only = {
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(
            request, object_id, form_url, {**read_only, **(extra_context or {})}
        )

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

    def has_change_permission(self, request: HttpRequest, obj: Customer | None = None) -> bool:
        return False  # shown, so view-only: the customer's page posts nothing back


def masked_text(value: str) -> str:
    return Redactor().text(value or "")


def list_text(value: str, *, masked: bool) -> str:
    """Words shortened for a list cell, with contact details masked when asked."""
    shown = masked_text(value) if masked else value or ""
    return Truncator(" ".join(shown.split())).chars(LIST_TEXT_CHARS)


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
    fk_name = "customer"
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
