"""AI agents on every inbound message: plan, run, merge, respond, hand off."""
