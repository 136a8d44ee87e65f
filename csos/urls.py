"""Pages of the civil-society side: the CSO directory."""

from django.urls import path

from csos import views

app_name = "csos"

urlpatterns = [
    path("csos/", views.cso_list, name="list"),
    path("csos/<slug:slug>/", views.cso_detail, name="detail"),
]
