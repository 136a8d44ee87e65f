"""API routes of the civil-society side, mounted under /api/v1/ by the root URLconf."""

from rest_framework.routers import SimpleRouter

router = SimpleRouter()
urlpatterns = router.urls
