"""The console's pages and actions. Thin: each authorises by role, parses a form, calls one
service or selector, and redirects back (POST, then GET) or renders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from channels_app.console import selectors
from channels_app.console.access import ConsoleRole, console_role, conversations_visible
from channels_app.console.forms import (
    ApprovalForm,
    DraftApproveForm,
    IntentCorrectionForm,
    LabelForm,
    MergeForm,
    NoteForm,
    PresenceForm,
    ProposalForm,
    ReassignForm,
    RenameForm,
    ReplyForm,
    ResolveForm,
    SnoozeForm,
)
from channels_app.console.selectors.report import CHART_SPANS, report_charts, resolved_today
from memory.actors import Partition, UserActor
from memory.models import Channel
from memory.selectors import customer_find, merge_proposal_find, message_inbound_find
from memory.services import MergeRefused, customer_merge, merge_proposal_decide
from orchestrator.models import ReplyDraft
from orchestrator.people import conversations, corrections, drafts, work
from orchestrator.people import queue as work_queue

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from memory.models import Conversation

View = Callable[..., HttpResponse]


class AuthenticatedHttpRequest(HttpRequest):
    """A request from a signed-in person, as django-stubs documents it: an annotation for
    views behind `login_required`; Django still passes its own request object."""

    user: User


class ConsoleRequest(AuthenticatedHttpRequest):
    """A request `console_view` let through: signed in, and carrying the person's role."""

    console_role: ConsoleRole


def console_view(*, supervisor_only: bool = False) -> Callable[[View], View]:
    """Signed in, with a console role (a supervisor's, when asked); the role rides on the
    request. A compliance officer has none: no live traffic for them."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            role = console_role(request.user)
            if role is None or (supervisor_only and role is not ConsoleRole.SUPERVISOR):
                raise PermissionDenied("the console is for supervisors and agents")
            # Django's request has no role; ConsoleRequest declares it for the views.
            request.console_role = role  # type: ignore[attr-defined]  # set for the view only
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _conversation(request: ConsoleRequest, conversation_id: int) -> Conversation:
    """The conversation, if this person may work it; 404 otherwise (no hint it exists)."""
    return get_object_or_404(
        conversations_visible(user=request.user, role=request.console_role),
        pk=conversation_id,
    )


def _back(conversation_id: int) -> HttpResponse:
    return redirect("console:conversation", conversation_id=conversation_id)


# Pages -------------------------------------------------------------------------------------------


@require_GET
@console_view()
def queue(request: ConsoleRequest) -> HttpResponse:
    """The queue page; with `?panels=1`, only the parts that refresh live (tabs, figures,
    alerts, roster) for the page to swap in."""
    role = request.console_role
    page = selectors.queue_page_read(
        user=request.user, role=role, filters=selectors.QueueFilter.parse(request.GET)
    )
    context = {
        "page": page,
        "presence": selectors.presence_of(user=request.user),
        "role": role,
        "channels": Channel.choices,
        "assignable": selectors.people_assignable() if role is ConsoleRole.SUPERVISOR else (),
    }
    if request.GET.get("panels"):
        return render(request, "console/_queue_panels.html", context)
    return render(request, "console/queue.html", context)


@require_GET
@console_view()
def conversation(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    role = request.console_role
    page = selectors.conversation_page_read(
        user=request.user, role=role, conversation_id=conversation_id
    )
    return render(
        request,
        "console/conversation.html",
        {
            "page": page,
            "role": role,
            "presence": selectors.presence_of(user=request.user),
            "reply_form": ReplyForm(),
            "work": selectors.work_panel_read(conversation=page.conversation, pack=page.pack),
            "customer_name": selectors.customer_name(page.pack),
        },
    )


@require_GET
@console_view(supervisor_only=True)
def report(request: ConsoleRequest) -> HttpResponse:
    days = min(max(int(request.GET.get("days", "7") or 7), 1), 90)
    span = CHART_SPANS.get(request.GET.get("span", ""), CHART_SPANS["day"])
    by_channel, by_agent = selectors.sla_report(since=timezone.now() - dt.timedelta(days=days))
    return render(
        request,
        "console/report.html",
        {
            "by_channel": by_channel,
            "by_agent": by_agent,
            "days": days,
            "charts": report_charts(span=span),
            "resolved": resolved_today(),
            "spans": CHART_SPANS.values(),
            "presence": selectors.presence_of(user=request.user),
            "role": ConsoleRole.SUPERVISOR,
        },
    )


# Actions -----------------------------------------------------------------------------------------


@require_POST
@console_view()
def take_over(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    conversations.conversation_take_over(
        conversation=_conversation(request, conversation_id), user=request.user
    )
    messages.success(request, "You have this conversation: automation stops answering.")
    return _back(conversation_id)


@require_POST
@console_view()
def reply(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write a reply first.")
        return _back(conversation_id)
    try:
        conversations.conversation_reply_as_person(
            conversation=target, user=request.user, text=form.cleaned_data["text"]
        )
    except conversations.PersonReplyRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Reply sent by {target.get_channel_display()}.")
    return _back(conversation_id)


@require_POST
@console_view()
def release(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    conversations.conversation_release(
        conversation=_conversation(request, conversation_id),
        released_by=work_queue.person_label(request.user),
    )
    messages.success(request, "Released: automation answers this conversation again.")
    return _back(conversation_id)


@require_POST
@console_view()
def approval(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    form = ApprovalForm(request.POST)
    form.is_valid()
    conversations.conversation_set_approval(
        conversation=_conversation(request, conversation_id),
        required=bool(form.cleaned_data.get("required")),
        user=request.user,
    )
    messages.success(
        request,
        "Automation's replies wait for approval."
        if form.cleaned_data.get("required")
        else "Automation replies on its own again.",
    )
    return _back(conversation_id)


@require_POST
@console_view()
def draft_approve(request: ConsoleRequest, conversation_id: int, draft_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    draft = get_object_or_404(ReplyDraft, pk=draft_id, conversation=target)
    form = DraftApproveForm(request.POST)
    form.is_valid()
    if (
        drafts.reply_draft_approve(
            draft=draft, user=request.user, text=form.cleaned_data.get("text") or None
        )
        is None
    ):
        messages.info(request, "That draft was already decided.")
    else:
        messages.success(request, "Draft sent.")
    return _back(conversation_id)


@require_POST
@console_view()
def draft_discard(request: ConsoleRequest, conversation_id: int, draft_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    draft = get_object_or_404(ReplyDraft, pk=draft_id, conversation=target)
    drafts.reply_draft_discard(draft=draft, user=request.user)
    messages.success(request, "Draft discarded; nothing was sent.")
    return _back(conversation_id)


@require_POST
@console_view()
def intent_correct(request: ConsoleRequest, conversation_id: int, message_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    message = message_inbound_find(message_id=message_id, customer_id=target.customer_id)
    # The message must be one of this conversation's, the one the person may open: a turn of
    # the same customer in a conversation they may not open is not theirs to act on.
    if message is None or message.conversation_id != target.pk:
        raise Http404("no such message in this conversation")
    form = IntentCorrectionForm(request.POST, intents=selectors.intents_known())
    if form.is_valid():
        corrections.message_intent_correct(
            message=message, intent=form.cleaned_data["intent"], user=request.user
        )
        messages.success(request, f"Intent corrected to {form.cleaned_data['intent']}.")
    else:
        messages.error(request, "Pick one of the known intents.")
    return _back(conversation_id)


@require_POST
@console_view(supervisor_only=True)
def reassign(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    form = ReassignForm(request.POST)
    if form.is_valid():
        person = get_object_or_404(selectors.people_assignable(), pk=form.cleaned_data["user_id"])
        work_queue.handoff_reassign(conversation=target, to_user=person, by=request.user)
        messages.success(request, f"Assigned to {person.get_full_name() or person.get_username()}.")
    return _back(conversation_id)


@require_POST
@console_view(supervisor_only=True)
def merge(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    form = MergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the id of the duplicate customer record.")
        return _back(conversation_id)
    source = customer_find(customer_id=form.cleaned_data["other_customer_id"])
    if source is None:
        raise Http404("no such customer")
    try:
        customer_merge(
            source=source,
            target=target.customer,
            merged_by=work_queue.person_label(request.user),
            reason=form.cleaned_data["reason"] or "merged by a person",
        )
    except MergeRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Customer #{source.pk} merged into #{target.customer_id}.")
    return _back(conversation_id)


@require_POST
@console_view(supervisor_only=True)
def proposal_decide(
    request: ConsoleRequest, conversation_id: int, proposal_id: int
) -> HttpResponse:
    target = _conversation(request, conversation_id)
    proposal = merge_proposal_find(proposal_id=proposal_id, customer_id=target.customer_id)
    if proposal is None:
        raise Http404("no such merge proposal for this customer")
    form = ProposalForm(request.POST)
    form.is_valid()
    try:
        merge_proposal_decide(
            proposal=proposal,
            accept=bool(form.cleaned_data.get("accept")),
            decided_by=work_queue.person_label(request.user),
        )
    except MergeRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Decided.")
    return _back(conversation_id)


@require_POST
@console_view()
def presence(request: ConsoleRequest) -> HttpResponse:
    form = PresenceForm(request.POST)
    if form.is_valid():
        work_queue.presence_set(
            user=request.user,
            status=form.cleaned_data["status"],
            capacity=form.cleaned_data.get("capacity"),
        )
        messages.success(request, f"You are {form.cleaned_data['status']}.")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("console:queue")


# The work of a conversation ----------------------------------------------------------------------


@require_POST
@console_view()
def resolve(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick how the conversation ended.")
        return _back(conversation_id)
    try:
        work.conversation_resolve(
            conversation=target,
            user=request.user,
            disposition=form.cleaned_data["disposition"],
            note=form.cleaned_data["note"],
        )
    except work.WorkRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Conversation #{conversation_id} resolved.")
    return _back(conversation_id)


@require_POST
@console_view()
def snooze(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Snooze until a time still to come.")
        return _back(conversation_id)
    until = form.cleaned_data["until"]
    work.conversation_snooze(conversation=target, user=request.user, until=until)
    messages.success(
        request, f"Snoozed until {timezone.localtime(until):%b %d, %H:%M}, or the next message."
    )
    return _back(conversation_id)


@require_POST
@console_view()
def reopen(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    work.conversation_reopen(
        conversation=_conversation(request, conversation_id), user=request.user
    )
    messages.success(request, "Reopened: back in the queue.")
    return _back(conversation_id)


@require_POST
@console_view()
def note(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write the note first.")
        return _back(conversation_id)
    work.conversation_note_add(
        conversation=target, user=request.user, text=form.cleaned_data["text"]
    )
    messages.success(request, "Note added. Only people see it; the customer never does.")
    return _back(conversation_id)


@require_POST
@console_view()
def label(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    form = LabelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A label is a short word such as billing.")
        return _back(conversation_id)
    name = form.cleaned_data["name"]
    try:
        if form.cleaned_data["remove"]:
            work.conversation_label_remove(conversation=target, user=request.user, name=name)
            messages.success(request, f"Label {name} removed.")
        else:
            work.conversation_label_add(conversation=target, user=request.user, name=name)
            messages.success(request, "Label added.")
    except work.WorkRefused as refused:
        messages.error(request, str(refused))
    return _back(conversation_id)


@require_POST
@console_view()
def rename(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    """Correct the customer's name; only for a person who may read it unmasked."""
    target = _conversation(request, conversation_id)
    if not UserActor(request.user).may_read(Partition.PII):
        raise PermissionDenied("renaming a customer needs the pii partition")
    form = RenameForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the customer's name.")
        return _back(conversation_id)
    try:
        work.customer_rename(
            customer=target.customer,
            conversation=target,
            user=request.user,
            display_name=form.cleaned_data["display_name"],
        )
    except work.WorkRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Name saved.")
    return _back(conversation_id)
