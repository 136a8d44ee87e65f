"""API routes of the civil-society side, mounted under /api/v1/ by the root URLconf."""

from rest_framework.routers import SimpleRouter

from csos.api import views

router = SimpleRouter()
router.register("csos", views.CSOViewSet, basename="cso")
router.register("cso-links", views.CSOLinkViewSet, basename="cso-link")
router.register("cooperation-cases", views.CooperationCaseViewSet, basename="cooperation-case")

urlpatterns = router.urls
