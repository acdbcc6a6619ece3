from apps.accounts.roles import Role, user_roles


def roles(request) -> dict:
    held = user_roles(getattr(request, "user", None))
    is_admin = Role.ADMIN in held
    return {
        "user_roles": sorted(r.value for r in held),
        "is_analyst": is_admin or Role.ANALYST in held,
        "is_risk_officer": is_admin or Role.RISK_OFFICER in held,
        "is_auditor": is_admin or Role.AUDITOR in held,
        "is_admin": is_admin,
    }
