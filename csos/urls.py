"""Pages of the civil-society side: the CSO directory."""

from django.urls import path

from csos import views
from governance.cache import cached_public_page as cached

app_name = "csos"

urlpatterns = [
    path("csos/", cached(views.cso_list), name="list"),
    path("csos/<slug:slug>/", cached(views.cso_detail), name="detail"),
]
