from django.urls import path

from towns import views

app_name = "towns"

urlpatterns = [
    path("", views.home, name="home"),
    path("towns/<slug:slug>/", views.town_detail, name="detail"),
]
