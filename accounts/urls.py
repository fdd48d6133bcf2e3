"""Sign-in URLs: password and company sign-in, the second-factor step, the user's two-factor page."""
from django.contrib.auth.decorators import login_not_required
from django.urls import path

from accounts import views
from accounts.oidc import CompanyCallbackView, CompanySignInView

urlpatterns = [
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("login/verify/", views.second_factor_verify, name="second-factor-verify"),
    path("account/two-factor/", views.two_factor_settings, name="two-factor"),
    path("account/two-factor/enrol/", views.second_factor_enrol, name="second-factor-enrol"),
    path("account/two-factor/recovery-codes/", views.recovery_codes_create, name="recovery-codes"),
    path("oidc/authenticate/", login_not_required(CompanySignInView.as_view()), name="oidc-authenticate"),
    path("oidc/callback/", login_not_required(CompanyCallbackView.as_view()), name="oidc-callback"),
]
