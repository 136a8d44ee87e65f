"""API routes of the local-authority side, mounted under /api/v1/ by the root URLconf."""

from rest_framework.routers import SimpleRouter

from towns.api import views

router = SimpleRouter()
router.register("regions", views.RegionViewSet, basename="region")
router.register("towns", views.TownViewSet, basename="town")

urlpatterns = router.urls
