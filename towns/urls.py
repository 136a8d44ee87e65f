from django.urls import path

from governance.cache import cached_public_page as cached
from towns import views

app_name = "towns"

urlpatterns = [
    path("", cached(views.home), name="home"),
    path("compare/", cached(views.compare), name="compare"),
    path("compare/data/<slug:key>.csv", cached(views.compare_csv), name="compare-csv"),
    path("typology/", cached(views.typology), name="typology"),
    path("towns/<slug:slug>/", cached(views.town_detail), name="detail"),
    path("towns/<slug:slug>/data/<slug:key>.csv", cached(views.chart_csv), name="chart-csv"),
]
