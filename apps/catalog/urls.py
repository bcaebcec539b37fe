from django.urls import path

from apps.catalog import api

urlpatterns = [
    path("tokenizers/", api.TokenizerListCreateApi.as_view(), name="tokenizers"),
    path("models/", api.ModelListApi.as_view(), name="models"),
]
