"""Churn risk and buying intent in the admin: read-only, since a signal is a reading of the
customer's turns (written by the pipeline's service) and its evidence names those turns."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from memory.models import CustomerSignal


@admin.register(CustomerSignal)
class CustomerSignalAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("customer", "kind", "score", "level", "evidence_turns", "updated_at")
    list_filter = ("kind",)
    ordering = ("-score",)
    raw_id_fields = ("customer",)
    readonly_fields = ("customer", "kind", "score", "evidence", "model_name", "updated_at")

    @admin.display(description="evidence (message ids)")
    def evidence_turns(self, signal: CustomerSignal) -> str:
        return ", ".join(f"#{pk}" for pk in signal.evidence_message_ids) or "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
