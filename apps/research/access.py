"""Who may read which documents.

Access levels are enforced in three places that must agree: the document
selectors (database), the vector query (``allowed_access_levels`` is a filter of
the Qdrant query itself) and the answer/report builders, which only ever see
what retrieval returned.
"""

from __future__ import annotations

from typing import Any

from apps.accounts.roles import Role, user_roles
from apps.research.models import AccessLevel

# Members of this group may read restricted documents (deal teams, credit committee).
RESTRICTED_READERS_GROUP = "research_restricted"

# Roles that work with research content at all.
RESEARCH_READER_ROLES = frozenset({Role.ANALYST, Role.RISK_OFFICER})
RESEARCH_UPLOADER_ROLES = frozenset({Role.ANALYST, Role.RISK_OFFICER})


def allowed_access_levels(user: Any) -> frozenset[str]:
    """The access levels whose documents ``user`` may read; empty for everyone else."""
    roles = user_roles(user)
    if Role.ADMIN in roles:
        return frozenset(AccessLevel.values)
    if not roles & RESEARCH_READER_ROLES:
        return frozenset()
    levels = {AccessLevel.PUBLIC.value, AccessLevel.INTERNAL.value}
    if user.groups.filter(name=RESTRICTED_READERS_GROUP).exists():
        levels.add(AccessLevel.RESTRICTED.value)
    return frozenset(levels)


def can_delete_document(user: Any, document: Any) -> bool:
    """The uploader or an admin; deleting removes the document for everyone."""
    return Role.ADMIN in user_roles(user) or (
        document.uploaded_by_id is not None and document.uploaded_by_id == user.pk
    )


# Besides a document's uploader and admins: re-indexing replaces everyone's chunks and costs model time.
DOCUMENT_REINDEX_ROLES = frozenset({Role.RISK_OFFICER})


def can_reindex_document(user: Any, document: Any) -> bool:
    """The uploader, risk officers and admins."""
    roles = user_roles(user)
    if roles & (DOCUMENT_REINDEX_ROLES | {Role.ADMIN}):
        return True
    return document.uploaded_by_id is not None and document.uploaded_by_id == user.pk


# From least to most restricted: a report built on chunks of several levels takes the highest.
ACCESS_LEVEL_ORDER = (AccessLevel.PUBLIC.value, AccessLevel.INTERNAL.value, AccessLevel.RESTRICTED.value)


def most_restricted_level(levels: Any) -> str:
    present = set(levels)
    return max((lvl for lvl in ACCESS_LEVEL_ORDER if lvl in present), key=ACCESS_LEVEL_ORDER.index, default="public")
