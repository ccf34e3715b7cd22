"""Conversation intelligence: trained intent and sentiment models, entity extraction, and the
services that write what a message says into the graph. The orchestrator calls `api` and
`services.message_analyse`.
"""
