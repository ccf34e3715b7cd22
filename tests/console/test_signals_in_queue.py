"""The live queue shows a customer's churn risk and buying intent beside their mood, so a
person sees who is about to leave before opening the conversation."""

from __future__ import annotations

import pytest

from memory.services import customer_signal_record

pytestmark = pytest.mark.django_db


def test_the_queue_row_shows_a_strong_churn_signal_and_hides_weak_ones(boss, client_as, handed_off):
    leaving = handed_off(sender="+14155550401", text="I'm moving to another provider")
    calm = handed_off(sender="+14155550402", text="a person please")
    customer_signal_record(
        message=leaving.messages.get(), kind="churn_risk", score=0.85, model_name="t"
    )
    customer_signal_record(message=calm.messages.get(), kind="buying_intent", score=0.2)

    response = client_as(boss).get("/console/")

    rows = {row.conversation_id: row for row in response.context["page"].rows}
    assert rows[leaving.pk].signals == (("churn_risk", "high"),)
    assert rows[calm.pk].signals == ()
    assert rows[leaving.pk].to_json()["signals"] == [["churn_risk", "high"]]
    assert 'data-signal="churn_risk"' in response.content.decode()
