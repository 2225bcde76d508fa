"""Root URLconf: the one place in config allowed to name the domain apps (see DESIGN.md)."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from config.api.docs import DocsView, SchemaView
from config.views import healthz

api_v1 = [
    path("", include("catalog.api.urls")),
    path("", include("customers.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("invoicing.api.urls")),
    path("", include("orders.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]

handler404 = "config.api.errors.handler404"
handler500 = "config.api.errors.handler500"
