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
    MergeForm,
    PresenceForm,
    ProposalForm,
    ReassignForm,
    ReplyForm,
)
from memory.selectors import customer_find, merge_proposal_find, message_inbound_find
from memory.services import MergeRefused, customer_merge, merge_proposal_decide
from orchestrator.models import ReplyDraft
from orchestrator.people import conversations, corrections, drafts
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
    role = request.console_role
    return render(
        request,
        "console/queue.html",
        {
            "rows": selectors.queue_read(user=request.user, role=role),
            "alerts": selectors.alerts_read() if role is ConsoleRole.SUPERVISOR else [],
            "presence": selectors.presence_of(user=request.user),
            "role": role,
        },
    )


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
        },
    )


@require_GET
@console_view(supervisor_only=True)
def report(request: ConsoleRequest) -> HttpResponse:
    days = min(max(int(request.GET.get("days", "7") or 7), 1), 90)
    by_channel, by_agent = selectors.sla_report(since=timezone.now() - dt.timedelta(days=days))
    return render(
        request,
        "console/report.html",
        {
            "by_channel": by_channel,
            "by_agent": by_agent,
            "days": days,
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
    return _back(conversation_id)


@require_POST
@console_view()
def release(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    conversations.conversation_release(
        conversation=_conversation(request, conversation_id),
        released_by=work_queue.person_label(request.user),
    )
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
    return _back(conversation_id)


@require_POST
@console_view()
def draft_discard(request: ConsoleRequest, conversation_id: int, draft_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    draft = get_object_or_404(ReplyDraft, pk=draft_id, conversation=target)
    drafts.reply_draft_discard(draft=draft, user=request.user)
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
    form = IntentCorrectionForm(request.POST)
    if form.is_valid():
        corrections.message_intent_correct(
            message=message, intent=form.cleaned_data["intent"], user=request.user
        )
    else:
        messages.error(request, "An intent is a short name such as order_status.")
    return _back(conversation_id)


@require_POST
@console_view(supervisor_only=True)
def reassign(request: ConsoleRequest, conversation_id: int) -> HttpResponse:
    target = _conversation(request, conversation_id)
    form = ReassignForm(request.POST)
    if form.is_valid():
        person = get_object_or_404(selectors.people_assignable(), pk=form.cleaned_data["user_id"])
        work_queue.handoff_reassign(conversation=target, to_user=person, by=request.user)
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
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("console:queue")
