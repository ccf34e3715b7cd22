"""Forms behind the console's actions: they parse and validate, the services act."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from orchestrator.models import AgentPresence


class ReplyForm(forms.Form):
    text = forms.CharField(max_length=1600, widget=forms.Textarea(attrs={"rows": 3}))


class DraftApproveForm(forms.Form):
    text = forms.CharField(
        max_length=1600, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ApprovalForm(forms.Form):
    required = forms.BooleanField(required=False)


class IntentCorrectionForm(forms.Form):
    """One of the intents replies and routes know, picked from a list, never free text."""

    intent = forms.ChoiceField(choices=())

    def __init__(self, *args: Any, intents: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["intent"].choices = [(i, i) for i in intents]  # type: ignore[attr-defined]  # a ChoiceField


class MergeForm(forms.Form):
    other_customer_id = forms.IntegerField(
        min_value=1, help_text="The duplicate record, folded into this customer."
    )
    reason = forms.CharField(max_length=300, required=False)


class ProposalForm(forms.Form):
    accept = forms.BooleanField(required=False)


class ReassignForm(forms.Form):
    user_id = forms.IntegerField(min_value=1)


class PresenceForm(forms.Form):
    status = forms.ChoiceField(choices=AgentPresence.Status.choices)
    capacity = forms.IntegerField(min_value=1, max_value=50, required=False)


class ResolveForm(forms.Form):
    """The wrap-up: how it ended (the services check the disposition is a listed one)."""

    disposition = forms.SlugField(max_length=60)
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea)


SNOOZE_PRESETS = {"1h": dt.timedelta(hours=1), "4h": dt.timedelta(hours=4)}


class SnoozeForm(forms.Form):
    """Until a preset (an hour, four hours, tomorrow morning) or a time of the person's own."""

    preset = forms.ChoiceField(
        choices=[("1h", "1 hour"), ("4h", "4 hours"), ("tomorrow", "Tomorrow 9:00")],
        required=False,
    )
    until = forms.DateTimeField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        now = timezone.now()
        until = cleaned.get("until")
        preset = cleaned.get("preset")
        if until is None and preset in SNOOZE_PRESETS:
            until = now + SNOOZE_PRESETS[preset]
        elif until is None and preset == "tomorrow":
            local = timezone.localtime(now) + dt.timedelta(days=1)
            until = local.replace(hour=9, minute=0, second=0, microsecond=0)
        if until is None or until <= now:
            raise forms.ValidationError("Snooze until a time still to come.")
        cleaned["until"] = until
        return cleaned


class NoteForm(forms.Form):
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class LabelForm(forms.Form):
    name = forms.CharField(max_length=40)
    remove = forms.BooleanField(required=False)


class RenameForm(forms.Form):
    display_name = forms.CharField(max_length=200)
