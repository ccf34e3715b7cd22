"""Generate customer-journey files (see /work/shared/spec/journeys.md) for developing and testing
Rapport's memory on journeys written with our own domains, people, values and phrasings.

Each journey replays one customer's SMS, calls and e-mails to a business and says, at chosen
events, what an agent's context must contain (`needs`), what it must no longer show (`stale`),
and the customer's current mood (`sentiment`). A journey is built as a list of beats (opening,
identity links, fact statements and updates, follow-ups, distractors, a closing note), each
rendered on a channel with one of several phrasings; probes are derived from what was actually
written, so every need is a substring of the customer's own messages up to the probed event.

Phrasings come from a family of phrase pools (`phrases/<family>.json`): `dev`, which tuning may
look at, and `heldout`, written separately and never tuned on. Both families share the domains,
people, identity cases and tags, so their files differ only in wording.

Sentiment rule: every message carries a tone. Complaints are `negative`, thanks are `positive`,
and substantive neutral messages (a question, a follow-up, a new fact) are `neutral` and reset
the mood. Filler without any emotional content ("ok", "battery dying", a dropped call, an
out-of-office auto-reply, pure chit-chat) carries no tone: the current mood is the tone of the
latest message that has one, as a person reading the thread would judge it.

Identity cases: `a` the CRM knows the customer (profile); `b` no profile, channels are linked by
an e-mail address stated in an SMS or by the reference key repeated on a second channel under the
customer's full name (a reference alone links nothing: anyone can quote one); `c` a
call from another person's phone where the caller gives their full name and key (often spelled
out); `d` an e-mail carries the customer's cell number in another format; `mixed` combines them.
Two more cases are made only when asked for, after the others: `stranger`, someone quoting
another journey's reference from their own phone or address (tag `stranger_quotes_reference`;
the quoted reference is in their `private` list, so anything else of the other customer's in
their context counts as a leak), and `new_phone`, a known customer texting from a new number
with their name and reference (tag `new_phone_text`).
Tag `linked_by_key_on_first_use` means the first message on the second channel both carries the
key and states a fact, so the link must be made before that fact can be attributed.
"""

from __future__ import annotations

from bench.journeys.generator import (
    EXTRA_CASES,
    EXTRA_TAGS,
    IDENTITY_CASES,
    TAGS,
    generate_journeys,
    write_journeys,
)
from bench.journeys.pools import FAMILIES

__all__ = [
    "EXTRA_CASES",
    "EXTRA_TAGS",
    "FAMILIES",
    "IDENTITY_CASES",
    "TAGS",
    "generate_journeys",
    "write_journeys",
]
