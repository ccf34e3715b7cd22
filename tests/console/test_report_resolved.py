"""The report's "resolved today" figure: wrap-ups since local midnight by disposition, read
through the console's own pages (resolve form, then the report)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from memory.models import WrapUp


def test_resolving_moves_the_reports_figure_for_that_disposition(boss, client_as, handed_off):
    client = client_as(boss)
    before = client.get("/console/report/").context["resolved"]
    assert before.total == 0
    counts = {d.name: d.resolved for d in before.by_disposition}
    assert {"solved", "no-reply"} <= set(counts)  # every enabled disposition, at zero too
    assert set(counts.values()) == {0}

    for sender, disposition in (("+14155550194", "solved"), ("+14155550195", "no-reply")):
        conversation = handed_off(sender=sender)
        posted = client.post(
            f"/console/conversations/{conversation.pk}/resolve/",
            {"disposition": disposition, "note": ""},
        )
        assert posted.status_code == 302
    third = handed_off(sender="+14155550196")
    client.post(f"/console/conversations/{third.pk}/resolve/", {"disposition": "solved"})

    page = client.get("/console/report/")
    resolved = page.context["resolved"]
    assert resolved.total == 3
    counts = {d.name: d.resolved for d in resolved.by_disposition}
    assert counts["solved"] == 2 and counts["no-reply"] == 1
    assert sum(counts.values()) == 3
    html = page.content.decode()
    assert '<b data-figure="resolved">3</b>' in html
    assert '<b data-disposition="solved">2</b>' in html


def test_yesterdays_wrap_ups_are_not_today(boss, client_as, handed_off):
    conversation = handed_off(sender="+14155550197")
    client = client_as(boss)
    client.post(f"/console/conversations/{conversation.pk}/resolve/", {"disposition": "solved"})
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    WrapUp.objects.filter(conversation=conversation).update(
        created_at=midnight - dt.timedelta(minutes=1)
    )
    assert client.get("/console/report/").context["resolved"].total == 0
