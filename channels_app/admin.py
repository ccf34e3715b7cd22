"""The admin for who reads from outside: API clients (issue, the token shown once; revoke) and
the quarantines the access watch or a person put agents and clients under (lift)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from memory.actors import UserActor
from memory.models import ActorQuarantine, ApiClient
from memory.services.clients import api_client_create, api_client_revoke
from memory.watch import actor_quarantine_lift, actors_quarantined

# A client is created from its name and scopes; afterwards its page only shows it.
NEW_CLIENT_FIELDS = ("name", "scopes")
CLIENT_FIELDS = ("name", "scopes", "active", "quarantine", "created_at", "revoked_at")


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin[ApiClient]):
    list_display = ["name", "scopes", "active", "quarantine", "created_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    actions = ["revoke", "lift_quarantine"]

    def get_fields(self, request: HttpRequest, obj: ApiClient | None = None) -> tuple[str, ...]:
        return NEW_CLIENT_FIELDS if obj is None else CLIENT_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiClient]:
        queryset = super().get_queryset(request)
        self._quarantined = actors_quarantined(actors=[f"api:{c.name}" for c in queryset])
        return queryset

    @admin.display(description="quarantine")
    def quarantine(self, client: ApiClient) -> str:
        held = getattr(self, "_quarantined", {}).get(f"api:{client.name}")
        return held.reason if held is not None else "—"

    def get_readonly_fields(
        self, request: HttpRequest, obj: ApiClient | None = None
    ) -> tuple[str, ...]:
        return () if obj is None else self.get_fields(request, obj)

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
            api_client_revoke(client=client, revoked_by=UserActor.of(request.user).label)

    @admin.action(description="Lift the selected clients' quarantine")
    def lift_quarantine(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        for client in queryset:
            actor_quarantine_lift(
                actor=f"api:{client.name}", lifted_by=UserActor.of(request.user).label
            )


@admin.register(ActorQuarantine)
class ActorQuarantineAdmin(admin.ModelAdmin[ActorQuarantine]):
    """Read-only: a quarantine is put and lifted by its services, which audit it."""

    list_display = ["actor", "active", "anomaly", "reason", "quarantined_at", "lifted_at"]
    list_filter = ["active", "anomaly"]
    search_fields = ["actor"]
    actions = ["lift"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ActorQuarantine | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: ActorQuarantine | None = None
    ) -> bool:
        return False

    def has_lift_permission(self, request: HttpRequest) -> bool:
        """Lifting is a supervisor's decision: whoever may change agents may lift."""
        return request.user.has_perm("orchestrator.change_agentconfig")

    @admin.action(description="Lift the selected quarantines (audited)", permissions=["lift"])
    def lift(self, request: HttpRequest, queryset: QuerySet[ActorQuarantine]) -> None:
        for quarantine in queryset.filter(active=True):
            actor_quarantine_lift(
                actor=quarantine.actor, lifted_by=UserActor.of(request.user).label
            )
