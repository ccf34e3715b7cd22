"""Top-level URL routes."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from channels_app.health import healthz

urlpatterns = [
    path("", RedirectView.as_view(url="/console/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("console/", include("channels_app.console.urls")),
    path("api/", include("channels_app.api.urls")),
    path("", include("channels_app.urls")),
]
