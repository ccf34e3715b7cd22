"""The context graph in the Django admin.

Graph pages are read-only (changes go through services, via admin actions), and opening a
customer's page, or one of their messages, facts or cases, reads context through the gate:
each opening is an audited access, and a person sees only the partitions they hold. Importing
the modules registers their pages.
"""

from __future__ import annotations

from memory.admin import access_log, graph, signals, work

__all__ = ["access_log", "graph", "signals", "work"]
