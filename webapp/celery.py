"""The Celery application. Tasks live in ``workers.tasks``; queues are chosen by resource (cpu | gpu)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings.local")

app = Celery("tokenscope")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.imports = ("workers.tasks",)
