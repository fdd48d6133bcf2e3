"""Sign-in pages: the password form (with "Sign in with <company>"), the second-factor step, enrolment, codes."""
import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from accounts.forms import CodeForm
from accounts.oidc import oidc_enabled
from accounts.two_factor import Standing, session_standing
from portal.api.authentication import lockout_response


class PortalLoginView(LoginView):
    """Django's password sign-in page, offering the company's provider when one is configured."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["company_sign_in"] = oidc_enabled()
        context["company_name"] = settings.OIDC_PROVIDER_NAME
        return context


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


@never_cache
@require_http_methods(["GET", "POST"])
def second_factor_verify(request):
    """After the password: the authenticator's code or a recovery code (django-otp's throttle, axes lockout)."""
    standing = session_standing(request.session, request.user)
    if standing is Standing.ENROL:
        return redirect("second-factor-enrol")
    if not standing.pending:
        return redirect(_next_url(request))
    credentials = {settings.AXES_USERNAME_FORM_FIELD: request.user.get_username()}
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if AxesProxyHandler.is_locked(request, credentials):
            logout(request)
            return lockout_response(request, credentials=credentials)
        try:
            device = two_factor.second_factor_verify(user=request.user, code=form.cleaned_data["code"], request=request)
        except two_factor.TooManyAttempts as exc:
            form.add_error("code", f"Too many wrong codes: try again in {exc.wait_seconds} s.")
        except two_factor.InvalidCode:
            # Counted like a wrong password (django-axes locks the account and the address alike).
            user_login_failed.send(sender=type(form), credentials=credentials, request=request)
            if getattr(request, "axes_locked_out", False):
                logout(request)
                return lockout_response(request, credentials=credentials)
            form.add_error("code", "That code is not right; check your authenticator app's clock, or use a recovery code.")
        else:
            two_factor.mark_verified(request, device)
            return redirect(_next_url(request))
    return render(request, "accounts/verify.html", {"form": form, "next": _next_url(request)})


@never_cache
@require_http_methods(["GET", "POST"])
def second_factor_enrol(request):
    """Set up (or replace) the authenticator app: its key as a QR code and as text, confirmed by one code."""
    standing = session_standing(request.session, request.user)
    if standing is Standing.COMPANY:
        raise Http404("Your company's provider handles your second factor.")
    if standing is Standing.VERIFY:
        return redirect("second-factor-verify")  # replacing a device takes the current one first
    device = two_factor.totp_device_for_enrolment(user=request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.totp_enrolment_confirm(
                user=request.user, device=device, code=form.cleaned_data["code"], request=request
            )
        except two_factor.TooManyAttempts as exc:
            form.add_error("code", f"Too many wrong codes: try again in {exc.wait_seconds} s.")
        except (two_factor.InvalidCode, TOTPDevice.DoesNotExist):
            form.add_error("code", "That code is not right; scan the code again and type the number now shown.")
        else:
            two_factor.mark_verified(request, TOTPDevice.objects.get(pk=device.pk))
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _next_url(request)})
    uri = device.config_url
    qr_svg = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode")
    secret = uri.split("secret=", 1)[1].split("&", 1)[0]
    context = {"form": form, "otpauth_uri": uri, "secret": secret, "qr_svg": qr_svg, "standing": standing,
               "next": _next_url(request)}
    return render(request, "accounts/enrol.html", context)


@never_cache
def two_factor_settings(request):
    """The user's own two-factor page: enrolled or not, recovery codes left, set up or replace."""
    standing = session_standing(request.session, request.user)
    totp = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    codes_left = StaticToken.objects.filter(device__user=request.user, device__confirmed=True).count()
    return render(request, "accounts/two_factor.html", {"standing": standing, "totp": totp, "codes_left": codes_left,
                                                        "required": settings.REQUIRE_2FA_FOR_ADMINS
                                                        and two_factor.is_administrator(request.user)})


@never_cache
@require_POST
def recovery_codes_create(request):
    """Ten new recovery codes, shown once; only a session that has given its second factor may ask."""
    if session_standing(request.session, request.user) is not Standing.VERIFIED:
        messages.error(request, "Set up an authenticator app first.")
        return redirect("two-factor")
    codes = two_factor.recovery_codes_replace(user=request.user, request=request)
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": settings.LOGIN_REDIRECT_URL})
