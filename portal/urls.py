"""Top-level URLs: pages, admin, API, webhook."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from portal import ops_views, views
from portal.api.exceptions import api_not_found
from portal.commands import views as command_views

urlpatterns = [
    # Browsers ask for /favicon.ico on pages without <link rel="icon"> (admin, API docs): no 404, no login.
    path("favicon.ico", login_not_required(RedirectView.as_view(url=lazy(static, str)("portal/favicon.ico")))),
    path("", views.dashboard, name="dashboard"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("system/", ops_views.system, name="system"),
    path("system/panel/", ops_views.system_panel, name="system-panel"),
    path("", include("accounts.urls")),  # sign-in: password, company (OpenID Connect), second factor
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("commands/", command_views.command_list, name="command-list"),
    path("commands/<int:pk>/", command_views.command_detail, name="command-detail"),
    path("commands/<int:pk>/retry/", command_views.command_retry, name="command-retry"),
    # One page door for every declared action on every kind (conferences, calls, queues, recordings).
    path("<str:plural>/<str:target>/actions/<str:action>/", command_views.action_issue, name="action-issue"),
    path("", include("webhooks.urls")),
    path("", include("conferencing.urls")),
    path("", include("calls.urls")),
    path("", include("queues.urls")),
    path("", include("recordings.urls")),
    path("", include("alerts.urls")),
    path("", include("portal.audit.urls")),
    path("api/v1/", include("portal.api.urls")),
    # Everything under /api/ answers JSON, an unknown path too (issue 30).
    re_path(r"^api/(?P<unmatched>.*)$", api_not_found),
    path("admin/", admin.site.urls),
]

handler500 = "portal.api.exceptions.server_error"

admin.site.site_header = "Telnyx operations portal"
admin.site.site_title = "Portal admin"
admin.site.index_title = "Administration"
