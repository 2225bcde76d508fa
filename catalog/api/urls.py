from rest_framework.routers import DefaultRouter

from catalog.api.views import CategoryViewSet, ProductViewSet, VariantViewSet
from config.api.docs import ApiRootView

router = DefaultRouter()
router.APIRootView = ApiRootView
router.register("products", ProductViewSet, basename="product")
router.register("variants", VariantViewSet, basename="variant")
router.register("categories", CategoryViewSet, basename="category")

urlpatterns = router.urls
