from django.urls import path

from apps.media import api

urlpatterns = [
    path("media/tokenizers/", api.MediaTokenizerListApi.as_view(), name="media-tokenizers"),
    path("media/tokenize/", api.MediaTokenizeApi.as_view(), name="media-tokenize"),
    path("media/codebooks/", api.MediaCodebookListCreateApi.as_view(), name="media-codebooks"),
    path("media/budget/", api.MediaBudgetApi.as_view(), name="media-budget"),
    path("media/jobs/<uuid:job_id>/artifacts/<str:name>/", api.MediaArtifactApi.as_view(), name="media-artifact"),
]
