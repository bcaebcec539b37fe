"""Non-API views: the health check and the single-page app's index."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie


@csrf_exempt  # it changes nothing; a POST to an unknown path is a 404, not a CSRF page
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown API paths answer in the API's error shape, not with an HTML page."""
    return JsonResponse(
        {"message": f"No API endpoint at /{request.path.lstrip('/')}; see /api/docs/.", "extra": {}}, status=404
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: under /api/ the API's JSON error shape; elsewhere Django's page."""
    if not request.path.startswith("/api/"):
        return django_csrf_failure(request, reason)
    return JsonResponse(
        {
            "message": f"CSRF check failed ({reason}). Browsers: send the csrftoken cookie's value in the X-CSRFToken "
            "header; scripts: authenticate with 'Authorization: Token <key>' instead of a session.",
            "extra": {"reason": reason},
        },
        status=403,
    )


def health(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@ensure_csrf_cookie
def spa_index(request: HttpRequest) -> HttpResponse:
    """Serve the built front end for every client-side route; the app's router takes it from there."""
    index = settings.FRONTEND_DIST / "index.html"
    if not index.exists():
        return HttpResponse(
            "The front end is not built. Run the set-up command in README.md (it runs `npm run build`).",
            status=503,
            content_type="text/plain",
        )
    return HttpResponse(index.read_text(encoding="utf-8"))
