from django.urls import path

from apps.speculative import api

urlpatterns = [
    path("speculative/", api.SpeculativeRunApi.as_view(), name="speculative"),
    path("drafts/", api.DraftDistillApi.as_view(), name="drafts"),
]
