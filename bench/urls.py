"""The project's URLs plus the PostgREST-style peer views of the benchmark (``/bench-peer/``)."""

from django.urls import path

from bench import peers
from governance.urls import handler500
from governance.urls import urlpatterns as atlas_urlpatterns

__all__ = ["handler500", "urlpatterns"]

urlpatterns = [
    path("bench-peer/towns/", peers.town_page, name="peer-town-page"),
    path("bench-peer/towns.geojson", peers.towns_geojson, name="peer-towns-geojson"),
    path("bench-peer/towns/<slug:slug>/indicators/", peers.town_series, name="peer-series"),
    path("bench-peer/towns/<slug:slug>/profile/", peers.town_profile, name="peer-profile"),
    path("bench-peer/towns/<slug:slug>/dashboard/", peers.town_dashboard, name="peer-dashboard"),
    *atlas_urlpatterns,
]
