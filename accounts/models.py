"""Who signed in through the company's OpenID Connect provider, by the provider's stable subject."""
from django.conf import settings
from django.db import models


class CompanyIdentity(models.Model):
    """One person at the company's provider, linked to the portal user created at their first sign-in.

    Matched by (issuer, subject), never by e-mail or user name: a provider account whose e-mail equals a
    break-glass password account's must not take that account over. The role is re-synced from the
    groups claim at every sign-in (accounts/services.py).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="company_identity")
    issuer = models.CharField(max_length=255, help_text="The provider's issuer URL (the ID token's iss).")
    subject = models.CharField(max_length=255, help_text="The provider's stable id of the person (the ID token's sub).")
    groups = models.JSONField(default=list, blank=True, help_text="The groups claim as of the last sign-in.")
    first_sign_in_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(help_text="When the provider last signed this person in.")

    class Meta:
        verbose_name = "company sign-in identity"
        verbose_name_plural = "company sign-in identities"
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="company_identity_unique_subject")]

    def __str__(self):
        return f"{self.user} ({self.subject})"
