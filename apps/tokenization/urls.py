from django.urls import path

from apps.tokenization import api

urlpatterns = [
    path("tokenize/", api.TokenizeApi.as_view(), name="tokenize"),
]
