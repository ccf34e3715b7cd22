"""Forms behind the console's actions: they parse and validate, the services act."""

from __future__ import annotations

from django import forms

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
    intent = forms.SlugField(max_length=100)


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
