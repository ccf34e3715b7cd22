"""Console routes: pages are GET, every action is a POST with CSRF."""

from __future__ import annotations

from django.urls import path

from channels_app.console import views

app_name = "console"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("report/", views.report, name="report"),
    path("presence/", views.presence, name="presence"),
    path("conversations/<int:conversation_id>/", views.conversation, name="conversation"),
    path("conversations/<int:conversation_id>/take-over/", views.take_over, name="take-over"),
    path("conversations/<int:conversation_id>/reply/", views.reply, name="reply"),
    path("conversations/<int:conversation_id>/release/", views.release, name="release"),
    path("conversations/<int:conversation_id>/approval/", views.approval, name="approval"),
    path("conversations/<int:conversation_id>/reassign/", views.reassign, name="reassign"),
    path("conversations/<int:conversation_id>/merge/", views.merge, name="merge"),
    path("conversations/<int:conversation_id>/resolve/", views.resolve, name="resolve"),
    path("conversations/<int:conversation_id>/snooze/", views.snooze, name="snooze"),
    path("conversations/<int:conversation_id>/reopen/", views.reopen, name="reopen"),
    path("conversations/<int:conversation_id>/notes/", views.note, name="note"),
    path("conversations/<int:conversation_id>/labels/", views.label, name="label"),
    path("conversations/<int:conversation_id>/customer/", views.rename, name="rename"),
    path(
        "conversations/<int:conversation_id>/drafts/<int:draft_id>/approve/",
        views.draft_approve,
        name="draft-approve",
    ),
    path(
        "conversations/<int:conversation_id>/drafts/<int:draft_id>/discard/",
        views.draft_discard,
        name="draft-discard",
    ),
    path(
        "conversations/<int:conversation_id>/messages/<int:message_id>/intent/",
        views.intent_correct,
        name="intent-correct",
    ),
    path(
        "conversations/<int:conversation_id>/proposals/<int:proposal_id>/",
        views.proposal_decide,
        name="proposal-decide",
    ),
]
