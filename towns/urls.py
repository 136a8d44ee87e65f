from django.urls import path

from towns import views

app_name = "towns"

urlpatterns = [
    path("", views.home, name="home"),
    path("compare/", views.compare, name="compare"),
    path("compare/data/<slug:key>.csv", views.compare_csv, name="compare-csv"),
    path("typology/", views.typology, name="typology"),
    path("towns/<slug:slug>/", views.town_detail, name="detail"),
    path("towns/<slug:slug>/data/<slug:key>.csv", views.chart_csv, name="chart-csv"),
]
