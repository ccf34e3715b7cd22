"""A customer's churn and buying signals survive a merge of two records of the same person."""

from __future__ import annotations

from memory import services
from memory.models import CustomerSignal


def test_signals_move_and_combine_when_two_records_merge(customer, make_customer, inbound_sms):
    duplicate = make_customer(name="A. Ruiz", phone="+14155550188")
    threat = inbound_sms(sender="+14155550188", text="thinking of switching to another provider")
    services.customer_signal_record(message=threat, kind="churn_risk", score=0.8)
    services.customer_signal_record(message=threat, kind="buying_intent", score=0.6)
    earlier = inbound_sms(sender="+14155550101", text="might look elsewhere")
    services.customer_signal_record(message=earlier, kind="churn_risk", score=0.55)

    merge = services.customer_merge(source=duplicate, target=customer, merged_by="user:sam")

    assert merge.moved["signals"] == 2
    assert not CustomerSignal.objects.filter(customer=duplicate).exists()
    churn = CustomerSignal.objects.get(customer=customer, kind="churn_risk")
    assert churn.score == 0.8  # the stronger reading, not an average that hides it
    assert set(churn.evidence_message_ids) == {threat.pk, earlier.pk}
    assert CustomerSignal.objects.get(customer=customer, kind="buying_intent").score == 0.6


def test_signals_are_listed_read_only_in_the_admin(admin_client, customer, inbound_sms):
    said = inbound_sms(sender="+14155550101", text="ready to order two more today")
    signal = services.customer_signal_record(message=said, kind="buying_intent", score=0.9)

    listing = admin_client.get("/admin/memory/customersignal/")
    assert listing.status_code == 200 and f"#{said.pk}" in listing.content.decode()
    admin_client.post(f"/admin/memory/customersignal/{signal.pk}/change/", {"score": "0.1"})
    signal.refresh_from_db()
    assert signal.score == 0.9
