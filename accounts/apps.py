"""Company sign-in (OpenID Connect) and two-factor sign-in for password accounts (issue 24)."""
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True  # this module also holds the admin's config, below
    name = "accounts"
    verbose_name = "Sign-in"

    def ready(self):
        from accounts import checks, signals  # noqa: F401  (registers the system check and signal receivers)


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django's admin, whose default site also requires the second factor (django-otp's OTPAdminSite's rule)."""

    default = False
    default_site = "accounts.admin_site.PortalAdminSite"
