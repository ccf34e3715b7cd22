"""The admin for API clients: issue (the token is shown once), revoke, lift a quarantine."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from channels_app.api.clients import (
    api_client_create,
    api_client_quarantine_lift,
    api_client_revoke,
)
from channels_app.models import ApiClient


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "scopes", "active", "quarantined", "created_at"]
    list_filter = ["active", "quarantined"]
    search_fields = ["name"]
    actions = ["revoke", "lift_quarantine"]

    def get_fields(self, request: HttpRequest, obj: ApiClient | None = None) -> list[str]:
        if obj is None:
            return ["name", "scopes"]
        return [
            "name",
            "scopes",
            "active",
            "quarantined",
            "quarantine_reason",
            "quarantined_at",
            "created_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiClient | None = None) -> list[str]:
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiClient, form: Any, change: bool) -> None:
        if change:
            return
        issued = api_client_create(
            name=obj.name, scopes=list(obj.scopes), created_by=f"user:{request.user}"
        )
        obj.pk = issued.client.pk
        self.message_user(
            request,
            f"Token for {obj.name} (shown once, copy it now): {issued.token}",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected clients' tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        for client in queryset:
            api_client_revoke(client=client, revoked_by=f"user:{request.user}")

    @admin.action(description="Lift the selected clients' quarantine")
    def lift_quarantine(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        for client in queryset:
            api_client_quarantine_lift(client=client, lifted_by=f"user:{request.user}")
