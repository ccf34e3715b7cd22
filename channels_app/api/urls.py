"""The REST API's routes, its OpenAPI schema and its interactive docs."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from channels_app.api import views

urlpatterns = [
    path("customers/", views.CustomerIndexView.as_view(), name="api-customers"),
    path("customers/bulk", views.CustomerBulkView.as_view(), name="api-customers-bulk"),
    path("customers/<int:customer_id>/", views.CustomerDetailView.as_view(), name="api-customer"),
    path(
        "customers/<int:customer_id>/context",
        views.CustomerContextView.as_view(),
        name="api-customer-context",
    ),
    path(
        "customers/<int:customer_id>/signals",
        views.CustomerSignalsView.as_view(),
        name="api-customer-signals",
    ),
    path(
        "customers/<int:customer_id>/conversations/",
        views.ConversationListView.as_view(),
        name="api-customer-conversations",
    ),
    path(
        "customers/<int:customer_id>/messages/",
        views.MessageListView.as_view(),
        name="api-customer-messages",
    ),
    path(
        "customers/<int:customer_id>/cases/",
        views.CaseListView.as_view(),
        name="api-customer-cases",
    ),
    path(
        "customers/<int:customer_id>/facts/",
        views.FactListView.as_view(),
        name="api-customer-facts",
    ),
    path("search", views.SearchView.as_view(), name="api-search"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, as the CSP (script-src 'self') needs.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
