from django.urls import path

from apps.detection import api

urlpatterns = [
    path("detection/text/", api.DetectTextApi.as_view(), name="detection-text"),
    path("detection/datasets/", api.DetectDatasetApi.as_view(), name="detection-datasets"),
    path("detection/frequency-tables/", api.FrequencyTableListCreateApi.as_view(), name="detection-frequency-tables"),
    path("detection/corpora/", api.CorpusListApi.as_view(), name="detection-corpora"),
    path("detection/scores/", api.ScoreListApi.as_view(), name="detection-scores"),
]
