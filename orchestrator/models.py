"""What the orchestrator is told (agents, rules, routes, reply templates: edited in the admin)
and what it did with each inbound message (a pipeline run and its agent runs: the trace a
supervisor reads to see why the customer got that answer).
"""

from __future__ import annotations

from auditlog.registry import auditlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from memory.actors import Partition
from memory.models import Channel, Conversation, Customer, Message


def _partitions_validate(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError('a list of partition names, e.g. ["profile", "business"]')
    try:
        Partition.parse(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None


class AgentConfig(models.Model):
    """How one agent is run here: on or off, what it may read, how long it may take.

    Built-in agents are registered in code and configured here; an external agent (Agent
    Connect) exists only here, as an HTTP endpoint or an OpenAI-compatible chat model.
    """

    class Kind(models.TextChoices):
        BUILTIN = "builtin", "Built in"
        HTTP = "http", "HTTP endpoint"
        LLM = "llm", "OpenAI-compatible chat model"

    class Role(models.TextChoices):
        ANALYST = "analyst", "Reads every message (full path)"
        RESPONDER = "responder", "Answers intents routed to it"

    name = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BUILTIN)
    role = models.CharField(
        max_length=10,
        choices=Role.choices,
        default=Role.ANALYST,
        help_text="External agents only; built-in agents have their role in code.",
    )
    description = models.CharField(max_length=300, blank=True)
    enabled = models.BooleanField(default=True)
    scopes = models.JSONField(
        default=list,
        blank=True,
        validators=[_partitions_validate],
        help_text="Context partitions it may read: profile, identities, messages, business, "
        "emotion, pii. A read outside them is refused and recorded.",
    )
    timeout_seconds = models.FloatField(
        null=True, blank=True, help_text="Empty: the agent's own default."
    )
    endpoint = models.URLField(
        blank=True, help_text="HTTP agents: where the scoped context pack is POSTed."
    )
    model = models.CharField(
        max_length=100, blank=True, help_text="LLM agents: the model name (default LLM_MODEL)."
    )
    instructions = models.TextField(blank=True, help_text="LLM agents: the system prompt.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "agent"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.Kind.HTTP and not self.endpoint:
            raise ValidationError({"endpoint": "An HTTP agent needs an endpoint."})

    @property
    def actor_label(self) -> str:
        """The label its reads are audited and watched under."""
        return f"agent:{self.name}"


class ReplyTemplate(models.Model):
    """A reply the responder may send, per intent and optionally per channel."""

    name = models.SlugField(max_length=60, help_text="Rules pick a template by this name.")
    intent = models.CharField(max_length=60, blank=True, help_text="Used for this intent.")
    channel = models.CharField(
        max_length=10, choices=Channel.choices, blank=True, help_text="Empty: any channel."
    )
    body = models.TextField(
        help_text="{first_name}, {case_kind}, {case_reference}, {case_status}, {case_title}, "
        "{fact.<key>}; [optional part], [say this|or this]."
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["name", "channel"], name="reply_template_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel or 'any channel'})"


class IntentRoute(models.Model):
    """Delegation: which agent is best suited to answer an intent."""

    class Target(models.TextChoices):
        RESPONDER = "responder", "Responder, with a reply template"
        AGENT = "agent", "An external agent"
        HUMAN = "human", "A person"

    intent = models.CharField(max_length=60, unique=True)
    target = models.CharField(max_length=10, choices=Target.choices, default=Target.RESPONDER)
    template = models.SlugField(
        max_length=60, blank=True, help_text="Responder: the template (default: the intent's)."
    )
    agent = models.ForeignKey(
        AgentConfig,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routes",
        limit_choices_to={"role": AgentConfig.Role.RESPONDER},
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["intent"]

    def __str__(self) -> str:
        return f"{self.intent} -> {self.get_target_display()}"

    def clean(self) -> None:
        if self.target == self.Target.AGENT and self.agent_id is None:
            raise ValidationError({"agent": "Routing to an agent needs the agent."})


class BusinessRule(models.Model):
    """A rule the business sets: when its conditions hold, its actions are taken."""

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower runs first.")
    conditions = models.JSONField(
        default=dict,
        blank=True,
        help_text='All must hold, e.g. {"intent": ["cancel"], "case_status": {"status": ["open"]}}',
    )
    actions = models.JSONField(
        default=list, help_text='e.g. [{"type": "hand_off", "reason": "cancellations"}]'
    )
    stop_processing = models.BooleanField(
        default=False, help_text="When it matches, later rules are not looked at."
    )
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "pk"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from orchestrator.rules import actions_validate, conditions_validate

        errors: dict[str, list[str]] = {}
        if problems := conditions_validate(self.conditions):
            errors["conditions"] = problems
        if problems := actions_validate(self.actions):
            errors["actions"] = problems
        if errors:
            raise ValidationError(errors)


class PipelineRun(models.Model):
    """What the orchestrator did with one inbound message. One row per message (the unique
    inbound message) is the claim that makes "answered once" hold when a task runs twice.
    """

    class Path(models.TextChoices):
        FAST = "fast", "Fast single pass"
        FULL = "full", "Full multi-agent"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        REPLIED = "replied", "Replied"
        HANDED_OFF = "handed_off", "Handed to a person"
        WITH_PERSON = "with_person", "Read only: a person answers"
        FAILED = "failed", "Failed"

    FINAL_STATUSES = (Status.REPLIED, Status.HANDED_OFF, Status.WITH_PERSON)

    inbound_message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="pipeline_run"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="pipeline_runs"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    path = models.CharField(max_length=5, choices=Path.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    plan = models.JSONField(default=dict, help_text="Which agents, why, and what was skipped.")
    merge = models.JSONField(default=dict, help_text="What the agents found, merged; writes.")
    decision = models.JSONField(default=dict, help_text="The route taken and the reasons.")
    timings = models.JSONField(default=dict, help_text="Milliseconds per stage.")
    priority = models.CharField(max_length=10, default="normal")
    reply_message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handed_off = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=1)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    total_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["conversation", "-started_at"]),
            models.Index(fields=["status", "-started_at"]),
        ]

    def __str__(self) -> str:
        return f"pipeline run for message #{self.inbound_message_id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES


class AgentRun(models.Model):
    """One agent's part in a pipeline run: what it was allowed to read, what it said, how long."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        REFUSED = "refused", "Refused by the gate"
        TIMED_OUT = "timed_out", "Timed out"
        FAILED = "failed", "Failed"

    pipeline_run = models.ForeignKey(
        PipelineRun, on_delete=models.CASCADE, related_name="agent_runs"
    )
    agent_name = models.CharField(max_length=60)
    kind = models.CharField(max_length=10, choices=AgentConfig.Kind.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    partitions = models.JSONField(default=list, help_text="The partitions it asked the gate for.")
    read_versions = models.JSONField(default=dict, help_text="Partition versions it read.")
    status = models.CharField(max_length=10, choices=Status.choices)
    output = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    latency_ms = models.FloatField()
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pipeline_run", "started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline_run", "agent_name", "attempt"],
                name="agent_run_once_per_attempt",
            ),
        ]
        indexes = [
            models.Index(
                fields=["agent_name", "-started_at"],
                condition=~Q(status="ok"),
                name="agent_run_trouble",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent_name} on message #{self.pipeline_run.inbound_message_id}"


# The workflow of people: presence, drafts awaiting approval, response clocks -------------------


class AgentPresence(models.Model):
    """Whether a human agent can take conversations now, and how many at once."""

    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        BUSY = "busy", "Busy"
        AWAY = "away", "Away"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AWAY)
    capacity = models.PositiveSmallIntegerField(
        default=3, help_text="How many conversations the agent works at once."
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "agent presence"
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="presence_capacity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.status}"


class ReplyDraft(models.Model):
    """A reply automation wrote in approval mode, held until a person approves or edits it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        SENT = "sent", "Approved and sent"
        DISCARDED = "discarded", "Discarded"

    conversation = models.ForeignKey(
        "memory.Conversation", on_delete=models.CASCADE, related_name="reply_drafts"
    )
    inbound_message = models.ForeignKey(
        "memory.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    author_agent = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    edited = models.BooleanField(default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    sent_message = models.OneToOneField(
        "memory.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(status="pending"),
                name="reply_draft_one_pending_per_conversation",
            )
        ]

    def __str__(self) -> str:
        return f"draft for conversation #{self.conversation_id} ({self.status})"


class ResponseClock(models.Model):
    """One promise to answer a waiting customer in time (the SLA timer): the first human
    answer after a handoff, or the next one after the customer writes again."""

    class Kind(models.TextChoices):
        FIRST = "first", "First response"
        NEXT = "next", "Next response"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        ANSWERED = "answered", "Answered"
        RELEASED = "released", "Released to automation"

    conversation = models.ForeignKey(
        "memory.Conversation", on_delete=models.CASCADE, related_name="response_clocks"
    )
    handoff = models.ForeignKey(
        "memory.Handoff", on_delete=models.CASCADE, related_name="response_clocks"
    )
    kind = models.CharField(max_length=5, choices=Kind.choices)
    channel = models.CharField(max_length=10)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who answered, or who had the conversation when the clock ran out.",
    )
    breached_at = models.DateTimeField(
        null=True, blank=True, help_text="When supervisors were alerted that it ran out."
    )
    plan = models.ForeignKey(
        "orchestrator.SlaPlan",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The SLA plan that set the target; empty when the default settings did.",
    )

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(state="running"),
                name="response_clock_one_running_per_conversation",
            )
        ]
        indexes = [models.Index(fields=["state", "due_at"]), models.Index(fields=["started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} response for conversation #{self.conversation_id} ({self.state})"

    @property
    def met(self) -> bool | None:
        """Answered in time (True), late or ran out (False), or still open (None)."""
        if self.answered_at is not None:
            return self.answered_at <= self.due_at
        return False if self.breached_at is not None else None


class SlaPlan(models.Model):
    """A response-time promise for some customers: per channel, customer tier (their `tier`
    fact) or intent, each blank meaning "any". The most specific enabled plan that matches
    sets a clock's target; with none, the SLA_*_RESPONSE_SECONDS settings do.
    """

    name = models.CharField(max_length=80, unique=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    customer_tier = models.CharField(
        max_length=40,
        blank=True,
        help_text='The customer\'s "tier" fact (e.g. gold), matched without regard to case.',
    )
    intent = models.CharField(
        max_length=64, blank=True, help_text="The intent of the message that was handed off."
    )
    first_response_seconds = models.PositiveIntegerField(
        help_text="Time allowed for a person's first answer after a handoff."
    )
    next_response_seconds = models.PositiveIntegerField(
        help_text="Time allowed for each later answer, once the customer writes again."
    )
    order = models.PositiveIntegerField(
        default=100, help_text="Between equally specific plans, the lower order wins."
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = "SLA plan"
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_seconds__gt=0) & Q(next_response_seconds__gt=0),
                name="sla_plan_positive_targets",
            )
        ]
        indexes = [models.Index(fields=["enabled", "channel"])]

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        """How many of channel, tier and intent the plan names (a more specific plan wins)."""
        return sum(1 for field in (self.channel, self.customer_tier, self.intent) if field)


# The console's lists, edited in the admin: canned responses and wrap-up dispositions ------------


class CannedResponse(models.Model):
    """A reply people insert into the reply box and adjust before sending."""

    title = models.CharField(max_length=80, unique=True)
    shortcut = models.SlugField(max_length=40, blank=True, help_text="Typed as /shortcut.")
    body = models.TextField(max_length=1600)
    channel = models.CharField(
        max_length=10, choices=Channel.choices, blank=True, help_text="Blank: every channel."
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Disposition(models.Model):
    """How a resolved conversation ended (`solved`, `refund issued`): the wrap-up's choices."""

    name = models.SlugField(max_length=60, unique=True)
    label = models.CharField(max_length=80)
    order = models.PositiveIntegerField(default=100)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "label"]

    def __str__(self) -> str:
        return self.label


for _listed in (CannedResponse, Disposition):
    if not auditlog.contains(_listed):
        auditlog.register(_listed)
