"""Conversation intelligence: trained intent and sentiment models, entity extraction, and
reading a turn for what is worth remembering (`statements`, `names`). Nothing here writes the
customer graph: the agents propose writes and the merge applies them.
"""
