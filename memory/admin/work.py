"""The work people do on conversations in the admin: read-only, since notes, labels and
wrap-ups change only through the console's services (audited, published)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from memory.models import ConversationLabel, ConversationNote, ConversationWork, WrapUp


class _ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]  # shared by four row types
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ConversationWork)
class ConversationWorkAdmin(_ReadOnly):
    list_display = ("conversation", "status", "snoozed_until", "changed_at", "changed_by")
    list_filter = ("status",)
    raw_id_fields = ("conversation", "changed_by")


@admin.register(WrapUp)
class WrapUpAdmin(_ReadOnly):
    list_display = ("conversation", "disposition", "resolved_by", "created_at")
    list_filter = ("disposition",)
    raw_id_fields = ("conversation", "resolved_by")


@admin.register(ConversationNote)
class ConversationNoteAdmin(_ReadOnly):
    list_display = ("conversation", "author", "created_at")
    raw_id_fields = ("conversation", "author")


@admin.register(ConversationLabel)
class ConversationLabelAdmin(_ReadOnly):
    list_display = ("name", "conversation", "added_by", "added_at")
    list_filter = ("name",)
    raw_id_fields = ("conversation", "added_by")
