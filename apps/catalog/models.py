"""Tokenizers a team added itself (uploaded files or Hugging Face references)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from apps.uploads.paths import custom_tokenizer_upload_to


class CustomTokenizer(models.Model):
    class Kind(models.TextChoices):
        TOKENIZER_JSON = "tokenizer_json", "Hugging Face tokenizer.json"
        SENTENCEPIECE = "sentencepiece", "SentencePiece .model"
        TIKTOKEN = "tiktoken", "tiktoken ranks file"
        HF = "hf", "Hugging Face id or local folder"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="custom_tokenizers")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    file = models.FileField(upload_to=custom_tokenizer_upload_to, blank=True)  # <team id>/tokenizers/<id><suffix>
    reference = models.CharField(max_length=300, blank=True, help_text="Hugging Face id or local folder")
    vocab_size = models.PositiveIntegerField(default=0)
    info = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def catalog_id(self) -> str:
        return f"custom:{self.id}"
