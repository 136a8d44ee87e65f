"""Root URLconf. Apps are wired in by dotted string, so the core never imports an app."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path

from governance.api.changes import ChangesView
from governance.api.exceptions import problem_type
from governance.api.root import APIRootView, AtlasDocsView, AtlasSchemaView
from governance.views import english_prefix, healthz, switch_language

API = r"^api/(?P<version>v1)/"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("language/", switch_language, name="switch-language"),
    re_path(r"^en/(?P<rest>.*)$", english_prefix, name="english-prefix"),
    re_path(API + r"$", APIRootView.as_view(), name="api-root"),
    path("api/problems/<slug:slug>", problem_type, name="api-problem-type"),
    re_path(API + r"schema/$", AtlasSchemaView.as_view(), name="api-schema"),
    re_path(
        API + r"docs/$",
        AtlasDocsView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    re_path(API, include("towns.api.urls")),
    re_path(API, include("csos.api.urls")),
    re_path(API, include("towns.api.geojson")),
    re_path(API, include("csos.api.export_urls")),
    re_path(API, include("governance.api.revisions")),
    re_path(API + r"changes/$", ChangesView.as_view(), name="api-changes"),
]

urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("accounts/", include("governance.accounts")),
    path("", include("csos.urls")),
    path("", include("towns.urls")),
    prefix_default_language=False,
)

handler404 = "governance.api.exceptions.not_found"
handler500 = "governance.views.server_error"
