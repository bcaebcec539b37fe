"""Websocket routes. Anything else gets a clean refusal (close 4404 and a reason), not an error at the handshake."""

from django.urls import path, re_path

from apps.accounts.websocket_auth import CLOSE_NOT_FOUND, websocket_refusal
from apps.jobs.consumers import JobConsumer

websocket_urlpatterns = [
    # Any segment: the consumer answers a malformed id like an unknown one (4404), after checking the credentials.
    path("ws/jobs/<str:job_id>/", JobConsumer.as_asgi()),
    re_path(r"", websocket_refusal(CLOSE_NOT_FOUND, "Unknown websocket path; follow a job on /ws/jobs/<job id>/.")),
]
