"""The supervisor console: the live queue, the conversation page and a person's actions."""
