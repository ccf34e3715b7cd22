"""The admin as a supervisor meets it: read-only graph pages that a hand-made POST cannot
change, the access log one click from a customer, lists that show the words and values (masked
without `pii`), newest first, and a customer search that counts identities right."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from memory import services
from memory.models import AuditEntry, Channel, Customer, Fact, MergeProposal
from memory.roles import AGENTS, COMPLIANCE, SUPERVISORS, roles_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    """A signed-in staff member in one of the roles `roles_ensure` makes, as the demo has."""
    groups = roles_ensure()

    def make(username: str, role: str) -> Client:
        user = User.objects.create_user(username, password="x" * 14, is_staff=True)
        user.groups.add(groups[role])
        client = Client()
        client.force_login(user)
        return client

    return make


def _inputs(html: str) -> set[str]:
    """The fields a page would post back, but the CSRF token and the inlines' bookkeeping
    (form counts, and each row's hidden id and owner, which Django renders even view-only)."""
    names = set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', html))
    return {
        n
        for n in names
        if n != "csrfmiddlewaretoken"
        and not n.endswith("_FORMS")
        and not re.fullmatch(r"\w+-\d+-(id|customer)", n)
    }


def test_a_supervisor_cannot_change_a_customer_by_posting_the_admin_form(staff, customer):
    supervisor = staff("sam", SUPERVISORS)
    url = reverse("admin:memory_customer_change", args=[customer.pk])
    version = Customer.objects.get(pk=customer.pk).business_version

    page = supervisor.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert _inputs(html) == set(), _inputs(html)
    assert 'name="_save"' not in html

    answer = supervisor.post(
        url,
        {"business_version": "99", "display_name": "Someone Else", "external_id": "X-1"},
        follow=True,
    )

    assert answer.redirect_chain[0][1] == 302
    assert "read-only here: nothing was saved" in answer.content.decode()
    after = Customer.objects.get(pk=customer.pk)
    assert (after.business_version, after.display_name, after.external_id) == (
        version,
        "Ana Ruiz",
        customer.external_id,
    )


def test_a_merge_proposal_page_has_nothing_to_post_even_for_whoever_decides_them(
    staff, customer, make_customer
):
    other = make_customer(name="Ana R.")
    proposal = MergeProposal.objects.create(
        customer=customer, other_customer=other, reason="same phone", proposed_by="test"
    )
    supervisor = staff("sam", SUPERVISORS)
    url = reverse("admin:memory_mergeproposal_change", args=[proposal.pk])

    assert _inputs(supervisor.get(url).content.decode()) == set()
    supervisor.post(url, {"status": "accepted", "reason": "forced"})

    proposal.refresh_from_db()
    assert (proposal.status, proposal.reason) == (MergeProposal.Status.PENDING, "same phone")


def test_a_supervisor_follows_the_access_log_link_from_a_customer_page(staff, customer):
    supervisor = staff("sam", SUPERVISORS)
    page = supervisor.get(reverse("admin:memory_customer_change", args=[customer.pk]))
    link = re.search(r'<a href="([^"]+)">the access log</a>', page.content.decode())
    assert link is not None

    log = supervisor.get(link.group(1).replace("&amp;", "&"))

    assert log.status_code == 200
    listed = list(log.context["cl"].result_list)
    assert listed and {entry.object_pk for entry in listed} == {str(customer.pk)}
    assert any(entry.purpose == f"admin: customer #{customer.pk}" for entry in listed)


def test_a_person_without_the_access_log_is_told_so_instead_of_a_bare_403(staff, customer):
    agent = staff("hana", AGENTS)
    agent_user = User.objects.get(username="hana")
    agent_user.user_permissions.add(
        *roles_ensure()[COMPLIANCE].permissions.filter(codename="view_customer")
    )

    page = agent.get(reverse("admin:memory_customer_change", args=[customer.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "the access log</a>" not in html
    assert "open to supervisors and compliance officers" in html

    refused = agent.get(reverse("admin:memory_auditentry_changelist"))
    assert refused.status_code == 403
    assert "This page is not open to you" in refused.content.decode()


def test_message_list_shows_the_words_newest_first_masked_without_pii(staff, customer, inbound_sms):
    now = timezone.now()
    older = inbound_sms(text="first: order 88123 is late", at=now - dt.timedelta(hours=2))
    newer = inbound_sms(
        text="second: call me on +1 415 555 0199 please", at=now - dt.timedelta(minutes=5)
    )
    supervisor = staff("sam", SUPERVISORS)

    listing = supervisor.get(reverse("admin:memory_message_changelist"))

    assert [m.pk for m in listing.context["cl"].result_list][:2] == [newer.pk, older.pk]
    html = listing.content.decode()
    assert "second: call me on +1 415 555 0199 please" in html
    assert html.index("second: call me") < html.index("first: order 88123")
    read = AuditEntry.objects.filter(actor_label="user:sam", purpose="admin: messages list").latest(
        "pk"
    )
    assert {"messages", "pii"} <= set(read.partitions)

    # An agent holds `messages` but not `pii`: the words, with the phone number masked.
    roles_ensure()[AGENTS].permissions.add(
        *roles_ensure()[COMPLIANCE].permissions.filter(codename="view_message")
    )
    agent = staff("hana", AGENTS)
    html = agent.get(reverse("admin:memory_message_changelist")).content.decode()
    assert "second: call me on" in html and "+1 415 555 0199" not in html
    assert "0199" in html  # masked the way the console masks: the last digits stay

    # A compliance officer holds neither: no words at all.
    officer = staff("casey", COMPLIANCE)
    html = officer.get(reverse("admin:memory_message_changelist")).content.decode()
    assert "call me on" not in html and "order 88123" not in html


def test_fact_list_shows_values_masked_without_pii(staff, customer):
    services.fact_assert(
        customer=customer, key="callback_number", value="+1 415 555 0142", asserted_by="import"
    )
    services.fact_assert(customer=customer, key="plan", value="family plan", asserted_by="import")
    supervisor = staff("sam", SUPERVISORS)
    html = supervisor.get(reverse("admin:memory_fact_changelist")).content.decode()
    assert "+1 415 555 0142" in html and "family plan" in html

    roles_ensure()[AGENTS].permissions.add(
        *roles_ensure()[COMPLIANCE].permissions.filter(codename="view_fact")
    )
    agent = staff("hana", AGENTS)
    html = agent.get(reverse("admin:memory_fact_changelist")).content.decode()
    assert "family plan" in html and "+1 415 555 0142" not in html

    officer = staff("casey", COMPLIANCE)
    html = officer.get(reverse("admin:memory_fact_changelist")).content.decode()
    assert "family plan" not in html
    assert Fact.objects.filter(customer=customer).count() == 2


@pytest.mark.parametrize("typed", ["ana@example.com", "(415) 555-0101", "Ruiz", "88123"])
def test_customer_search_counts_every_identity_of_the_customer_found(staff, customer, typed):
    services.identity_link(
        customer=customer, kind="email", address="ana.work@example.org", source="test"
    )
    services.case_open(customer=customer, kind="order", reference="88123")
    services.case_open(customer=customer, kind="order", reference="88123-B")
    supervisor = staff("sam", SUPERVISORS)

    listing = supervisor.get(reverse("admin:memory_customer_changelist"), {"q": typed})

    [found] = listing.context["cl"].result_list
    assert found.pk == customer.pk
    assert found.identity_total == 3  # phone and two e-mails, whichever one matched


def test_channel_switches_are_listed_read_only(staff, customer, inbound_sms):
    sms = inbound_sms(text="I'll email you the photos")
    email = services.message_record_inbound(
        channel=Channel.EMAIL,
        sender="ana@example.com",
        recipient="support@shop.example",
        text="photos attached",
        subject="photos",
    ).message
    switch = services.conversation_record_channel_switch(
        to_conversation=email.conversation,
        from_conversation=sms.conversation,
        handover_summary="Ana sent photos of the cracked screen",
        carried_case_ids=[],
    )
    supervisor = staff("sam", SUPERVISORS)

    assert supervisor.get(reverse("admin:memory_channelswitch_changelist")).status_code == 200
    url = reverse("admin:memory_channelswitch_change", args=[switch.pk])
    page = supervisor.get(url)
    assert page.status_code == 200 and _inputs(page.content.decode()) == set()
    assert "Ana sent photos" in page.content.decode()
