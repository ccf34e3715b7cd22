"""The orchestrator in the Django admin: agents, rules, routes and templates are edited here
(validated before they are saved); pipeline runs and agent runs are the read-only trace.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from memory.actors import UserActor
from memory.watch import actor_quarantine, actor_quarantine_lift, actors_quarantined
from orchestrator.intelligence.training_data.intents import PHRASINGS as INTENT_PHRASINGS
from orchestrator.models import (
    AgentConfig,
    AgentRun,
    BusinessRule,
    CannedResponse,
    Disposition,
    IntentRoute,
    PipelineRun,
    ReplyTemplate,
    ResponseClock,
    SlaPlan,
)
from orchestrator.replies import DEFAULT_TEMPLATES, template_placeholders_validate
from orchestrator.rules import actions_validate

_Row = TypeVar("_Row", bound=Model)


@admin.register(AgentConfig)
class AgentConfigAdmin(admin.ModelAdmin[AgentConfig]):
    list_display = (
        "name",
        "kind",
        "role",
        "enabled",
        "quarantine",
        "scopes",
        "timeout_seconds",
    )
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    actions = ("quarantine_selected", "lift_quarantine")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AgentConfig]:
        queryset = super().get_queryset(request)
        self._quarantined = actors_quarantined(actors=[c.actor_label for c in queryset])
        return queryset

    @admin.display(description="quarantine")
    def quarantine(self, config: AgentConfig) -> str:
        held = getattr(self, "_quarantined", {}).get(config.actor_label)
        return held.reason if held is not None else "—"

    @admin.action(description="Quarantine the selected agents (audited)")
    def quarantine_selected(self, request: HttpRequest, queryset: QuerySet[AgentConfig]) -> None:
        by = UserActor.of(request.user).label
        for config in queryset:
            actor_quarantine(actor=config.actor_label, reason=f"by {by}", quarantined_by=by)
        self.message_user(request, f"{queryset.count()} agent(s) quarantined.", messages.WARNING)

    @admin.action(description="Lift quarantine (a supervisor's decision, audited)")
    def lift_quarantine(self, request: HttpRequest, queryset: QuerySet[AgentConfig]) -> None:
        for config in queryset:
            actor_quarantine_lift(
                actor=config.actor_label, lifted_by=UserActor.of(request.user).label
            )


class BusinessRuleForm(forms.ModelForm[BusinessRule]):
    class Meta:
        model = BusinessRule
        fields = (
            "name",
            "enabled",
            "priority",
            "conditions",
            "actions",
            "stop_processing",
            "description",
        )

    def clean_actions(self) -> Any:
        actions = self.cleaned_data["actions"]
        names = frozenset(DEFAULT_TEMPLATES) | frozenset(
            ReplyTemplate.objects.values_list("name", flat=True)
        )
        if problems := actions_validate(actions, template_names=names):
            raise forms.ValidationError(problems)
        return actions


@admin.register(BusinessRule)
class BusinessRuleAdmin(admin.ModelAdmin[BusinessRule]):
    form = BusinessRuleForm
    list_display = ("name", "enabled", "priority", "stop_processing", "conditions", "actions")
    list_editable = ("enabled", "priority")
    list_filter = ("enabled",)
    search_fields = ("name",)


@admin.register(IntentRoute)
class IntentRouteAdmin(admin.ModelAdmin[IntentRoute]):
    list_display = ("intent", "target", "template", "agent", "enabled")
    list_filter = ("target", "enabled")
    search_fields = ("intent",)


class ReplyTemplateForm(forms.ModelForm[ReplyTemplate]):
    class Meta:
        model = ReplyTemplate
        fields = ("name", "intent", "channel", "body", "enabled")

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        if problems := template_placeholders_validate(body):
            raise forms.ValidationError(problems)
        return body


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin[ReplyTemplate]):
    form = ReplyTemplateForm
    list_display = ("name", "intent", "channel", "enabled", "body")
    list_filter = ("channel", "enabled")
    search_fields = ("name", "intent", "body")


class SlaPlanForm(forms.ModelForm[SlaPlan]):
    class Meta:
        model = SlaPlan
        fields = (
            "name",
            "channel",
            "customer_tier",
            "intent",
            "first_response_seconds",
            "next_response_seconds",
            "order",
            "enabled",
        )

    def clean_intent(self) -> str:
        """An intent the classifier can read (a typo would make the plan never match)."""
        intent: str = self.cleaned_data["intent"].strip()
        known = set(INTENT_PHRASINGS) | set(
            IntentRoute.objects.values_list("intent", flat=True).distinct()
        )
        if intent and intent not in known:
            raise forms.ValidationError(
                f"unknown intent {intent!r}; known: {', '.join(sorted(known))}"
            )
        return intent

    def clean_customer_tier(self) -> str:
        tier: str = self.cleaned_data["customer_tier"]
        return tier.strip().casefold()


@admin.register(SlaPlan)
class SlaPlanAdmin(admin.ModelAdmin[SlaPlan]):
    """Response-time promises per channel, customer tier or intent; the most specific enabled
    plan that matches a waiting conversation sets its clock (the settings are the default)."""

    form = SlaPlanForm
    list_display = (
        "name",
        "channel",
        "customer_tier",
        "intent",
        "first_response_seconds",
        "next_response_seconds",
        "order",
        "enabled",
    )
    list_editable = ("first_response_seconds", "next_response_seconds", "order", "enabled")
    list_filter = ("enabled", "channel")
    search_fields = ("name", "customer_tier", "intent")


class ReadOnlyTraceAdmin(admin.ModelAdmin[_Row]):
    """The trace is what happened: nobody edits it."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _Row | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _Row | None = None) -> bool:
        return False


class AgentRunInline(admin.TabularInline[AgentRun, PipelineRun]):
    model = AgentRun
    extra = 0
    can_delete = False
    fields = (
        "agent_name",
        "kind",
        "attempt",
        "status",
        "latency_ms",
        "partitions",
        "output",
        "error",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: PipelineRun | None = None) -> bool:
        return False


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnlyTraceAdmin[PipelineRun]):
    list_display = (
        "inbound_message",
        "conversation",
        "channel",
        "path",
        "status",
        "priority",
        "total_ms",
        "started_at",
    )
    list_filter = ("status", "path", "channel")
    list_select_related = ("inbound_message", "conversation")
    date_hierarchy = "started_at"
    inlines = (AgentRunInline,)
    readonly_fields = (
        "inbound_message",
        "conversation",
        "customer",
        "channel",
        "path",
        "status",
        "priority",
        "plan",
        "merge",
        "decision",
        "timings",
        "reply_message",
        "handed_off",
        "attempts",
        "error",
        "started_at",
        "finished_at",
        "total_ms",
    )
    raw_id_fields = ("inbound_message", "conversation", "customer", "reply_message")


@admin.register(AgentRun)
class AgentRunAdmin(ReadOnlyTraceAdmin[AgentRun]):
    list_display = ("agent_name", "pipeline_run", "status", "latency_ms", "started_at")
    list_filter = ("status", "agent_name")
    list_select_related = ("pipeline_run",)
    raw_id_fields = ("pipeline_run",)


@admin.register(ResponseClock)
class ResponseClockAdmin(ReadOnlyTraceAdmin[ResponseClock]):
    """Each answer promised to a waiting customer, the plan that set its target, and whether
    it was kept."""

    list_display = (
        "conversation",
        "kind",
        "channel",
        "plan",
        "state",
        "started_at",
        "due_at",
        "answered_at",
        "breached_at",
    )
    list_filter = ("state", "kind", "channel", "plan")
    list_select_related = ("conversation", "plan")
    raw_id_fields = ("conversation", "handoff", "agent")
    date_hierarchy = "started_at"


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin[CannedResponse]):
    """Replies people insert into the console's reply box."""

    list_display = ("title", "shortcut", "channel", "enabled", "updated_at")
    list_filter = ("enabled", "channel")
    search_fields = ("title", "shortcut")


@admin.register(Disposition)
class DispositionAdmin(admin.ModelAdmin[Disposition]):
    """The wrap-up choices a person picks when resolving a conversation."""

    list_display = ("label", "name", "order", "enabled")
    list_editable = ("order", "enabled")
    prepopulated_fields = {"name": ("label",)}
