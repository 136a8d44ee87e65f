"""API routes of the local-authority side, mounted under /api/v1/ by the root URLconf."""

from rest_framework.routers import SimpleRouter

from towns.api import society, views

router = SimpleRouter()
router.register("regions", views.RegionViewSet, basename="region")
router.register("districts", views.DistrictViewSet, basename="district")
router.register("towns", views.TownViewSet, basename="town")
router.register("sources", views.SourceViewSet, basename="source")
router.register("persons", views.PersonViewSet, basename="person")
router.register("posts", views.PostViewSet, basename="post")
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register("influence-groups", views.InfluenceGroupViewSet, basename="influence-group")
router.register("ties", views.TieViewSet, basename="tie")
router.register("indicators", views.IndicatorViewSet, basename="indicator")
router.register("indicator-values", views.IndicatorValueViewSet, basename="indicator-value")
router.register("activities", views.ActivityViewSet, basename="activity")
society.register(router)  # mechanisms, society, ways of life, communication sites

urlpatterns = router.urls
