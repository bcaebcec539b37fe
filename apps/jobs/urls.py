from django.urls import path

from apps.jobs import api

urlpatterns = [
    path("jobs/", api.JobListApi.as_view(), name="jobs"),
    path("jobs/<uuid:job_id>/", api.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<uuid:job_id>/cancel/", api.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<uuid:job_id>/export/", api.JobExportApi.as_view(), name="job-export"),
    path("jobs/<uuid:job_id>/rerun/", api.JobRerunApi.as_view(), name="job-rerun"),
    path("ws-tickets/", api.WsTicketCreateApi.as_view(), name="ws-tickets"),
]
