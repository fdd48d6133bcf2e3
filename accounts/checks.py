"""System checks: a company sign-in configuration that cannot work is reported by `manage.py check`."""
from django.conf import settings
from django.core.checks import Error, register

from portal.roles import ROLES


@register()
def company_sign_in_settings(app_configs, **kwargs):
    errors = []
    for group, role in settings.OIDC_ROLE_MAP.items():
        if role not in ROLES:
            errors.append(Error(f"OIDC_ROLE_MAP maps {group!r} to {role!r}, which is not a role.",
                                hint=f"Roles: {', '.join(ROLES)}.", id="accounts.E001"))
    if settings.OIDC_RP_CLIENT_ID and not settings.OIDC_RP_CLIENT_SECRET:
        errors.append(Error("OIDC_CLIENT_ID is set without OIDC_CLIENT_SECRET.", id="accounts.E002"))
    if settings.OIDC_RP_CLIENT_ID and not settings.OIDC_ROLE_MAP:
        errors.append(Error("Company sign-in is on but OIDC_ROLE_MAP is empty: nobody would get a role.",
                            id="accounts.E003"))
    return errors
