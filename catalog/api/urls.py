from rest_framework.routers import DefaultRouter

from catalog.api.views import CategoryViewSet, ProductViewSet, VariantViewSet

router = DefaultRouter()
router.register("products", ProductViewSet, basename="product")
router.register("variants", VariantViewSet, basename="variant")
router.register("categories", CategoryViewSet, basename="category")

urlpatterns = router.urls
