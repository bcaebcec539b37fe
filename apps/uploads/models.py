"""Inputs too large to keep in a job's parameters: stored once per team, addressed by content hash."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from apps.uploads.paths import text_upload_to


class Upload(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="uploads")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    kind = models.CharField(max_length=16, default="text")
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField()
    encoding = models.CharField(max_length=40, blank=True)
    file = models.FileField(upload_to=text_upload_to)  # <team id>/uploads/YYYY/MM/<sha256>.txt
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind}:{self.filename or self.sha256[:12]}"
