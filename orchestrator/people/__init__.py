"""The workflow of people: who holds which conversation, the queue, response clocks (SLA),
drafts awaiting approval, and a person's hands on a conversation. Each action here owns all of
its side effects (rows, audit, events, follow-up tasks), whoever calls it."""
