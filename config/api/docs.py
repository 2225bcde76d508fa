"""The API's own pages: its root, the OpenAPI schema and Swagger UI. Public: they hold no data."""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import APIRootView

from config.api.access import Access

PUBLIC = {"get": Access.anyone()}


class ApiRootView(APIRootView):
    access = PUBLIC


class SchemaView(SpectacularAPIView):
    access = PUBLIC


class DocsView(SpectacularSwaggerView):
    access = PUBLIC
