from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.core.views import api_not_found, health, spa_index

api_v1 = [
    path("", include("apps.accounts.urls")),
    path("", include("apps.catalog.urls")),
    path("", include("apps.jobs.urls")),
    path("", include("apps.tokenization.urls")),
    path("", include("apps.speculative.urls")),
    path("", include("apps.detection.urls")),
    path("", include("apps.media.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("healthz", health, name="health"),
    # (?s): a path with an encoded newline is still an API path (a JSON 404, not Django's HTML page).
    re_path(r"^api/(?P<path>(?s:.*))$", api_not_found, name="api-not-found"),
    # Everything else is the single-page app (client-side routes: /, /results/<id>, /history, ...).
    re_path(r"^(?!api/|ws/|static/|admin/).*$", spa_index, name="spa"),
]
