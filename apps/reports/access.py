"""Who may request, read and review research reports.

Reading a report is also bounded by the research desk's access levels: a report takes the most
restricted level of the chunks it was built on (``apps.research.selectors.most_restricted_level``).
"""

from __future__ import annotations

from typing import Any

from apps.accounts.roles import Role, user_roles
from apps.research.selectors import RESEARCH_READER_ROLES

# Reports are built on research documents: whoever works with research content reads them.
REPORT_READER_ROLES = RESEARCH_READER_ROLES
REPORT_REQUESTER_ROLES = frozenset({Role.ANALYST, Role.RISK_OFFICER})
# Who decides on a generated report (draft -> approved | rejected); never the requester (four eyes).
REPORT_REVIEWER_ROLES = frozenset({Role.RISK_OFFICER})


def can_review_report(user: Any, report: Any) -> bool:
    roles = user_roles(user)
    return bool(roles & (REPORT_REVIEWER_ROLES | {Role.ADMIN})) and report.requested_by_id != user.pk
