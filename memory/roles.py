"""The people who use Rapport, as Django groups with the permissions their work needs."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from memory.actors import Partition

SUPERVISORS = "Supervisors"
AGENTS = "Agents"
COMPLIANCE = "Compliance officers"

_GRAPH_MODELS = (
    "customer",
    "identity",
    "conversation",
    "message",
    "case",
    "fact",
    "sentimentreading",
    "customermerge",
    "mergeproposal",
    "intentcorrection",
    "channelswitch",
)


def roles_ensure() -> dict[str, Group]:
    """Create or refresh the three roles; safe to run after every migration."""
    read_all = [f"read_context_{p.value}" for p in Partition]
    view_graph = [f"view_{model}" for model in _GRAPH_MODELS]
    wanted = {
        SUPERVISORS: [
            *read_all,
            *view_graph,
            "change_customer",
            "change_mergeproposal",
            # Supervisors follow a customer page's "who accessed" link to the access log.
            "view_auditentry",
        ],
        # Human agents work conversations: they read context but not raw contact details.
        AGENTS: [f"read_context_{p.value}" for p in Partition if p is not Partition.PII],
        COMPLIANCE: [*view_graph, "view_auditentry"],
    }
    groups: dict[str, Group] = {}
    for name, codenames in wanted.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            Q(content_type__app_label="memory") & Q(codename__in=codenames)
        )
        group.permissions.set(permissions)
        groups[name] = group
    return groups
