"""Celery: JSON only, late acks, explicit queues by resource (cpu | gpu)."""

from webapp.settings.env import env
from webapp.settings.integrations.redis import redis_db_url

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=redis_db_url(0))
CELERY_RESULT_BACKEND = None  # the Job row is the truth; no result backend needed
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
