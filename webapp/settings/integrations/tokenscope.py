"""Product limits and switches. Every limit is documented in docs/limits.md."""

from webapp.settings.env import env

# Sign the first visitor in as the local user (embedded default only; never on a hosted instance).
TOKENSCOPE_LOCAL_AUTOLOGIN = env.bool("TOKENSCOPE_LOCAL_AUTOLOGIN", default=False)
TOKENSCOPE_LOCAL_USERNAME = "local"
TOKENSCOPE_LOCAL_TEAM = "local"

# Text up to this many UTF-8 bytes is tokenized in the request; larger text becomes a queued job.
TOKENIZE_SYNC_MAX_BYTES = env.int("TOKENIZE_SYNC_MAX_BYTES", default=100_000)
# The largest text accepted at all (pasted or uploaded).
TOKENIZE_MAX_BYTES = env.int("TOKENIZE_MAX_BYTES", default=50 * 1024 * 1024)
TOKENIZE_MAX_TOKENIZERS = 6
# Detection: an uploaded labelled dataset, and an uploaded reference corpus for a DC-PDD frequency table.
DETECTION_DATASET_MAX_BYTES = env.int("DETECTION_DATASET_MAX_BYTES", default=20 * 1024 * 1024)
DETECTION_CORPUS_MAX_BYTES = env.int("DETECTION_CORPUS_MAX_BYTES", default=50 * 1024 * 1024)
# Custom tokenizer files (tokenizer.json, .model, .tiktoken).
CUSTOM_TOKENIZER_MAX_BYTES = env.int("CUSTOM_TOKENIZER_MAX_BYTES", default=50 * 1024 * 1024)
# Server folders that a model or tokenizer reference (target, draft model, hf_id) may name, comma-separated. None on
# a hosted instance unless listed; the embedded default adds the model store (webapp/settings/local.py). A team's own
# distilled drafts are always usable; other teams' drafts and the uploads folder never are (apps/catalog/references.py).
TOKENSCOPE_ALLOWED_MODEL_ROOTS = env.list("TOKENSCOPE_ALLOWED_MODEL_ROOTS", default=[])

# A running job whose worker has not reported for this long is marked failed ("worker lost").
JOB_HEARTBEAT_TIMEOUT_S = env.int("JOB_HEARTBEAT_TIMEOUT_S", default=120)
# A queued job whose task was never sent this long after it was stored (its web process died in between) is failed.
JOB_DISPATCH_GRACE_S = env.int("JOB_DISPATCH_GRACE_S", default=60)
# Progress is written and pushed at most this often per job (partial results and the last report always are). Each
# report is a row write and a Redis push: 1.3 ms alone, but 15-25 ms while a job's threads fill every core (a 10 MB
# tokenization on 2 cores, docs/benchmarks.md); four a second keep a progress bar moving smoothly.
JOB_PROGRESS_MIN_INTERVAL_S = env.float("JOB_PROGRESS_MIN_INTERVAL_S", default=0.25)
# Partial results of a running job kept in Redis for subscribers who connect mid-run (apps/jobs/events.py): at most
# this many events per job (a speculative job sends at most ~1,030, a distillation ~2,000), kept this long after the
# last one (longer than any job's time limit), and this long once the job has finished (its result is the truth).
JOB_STREAM_BACKLOG_MAX_EVENTS = env.int("JOB_STREAM_BACKLOG_MAX_EVENTS", default=5000)
JOB_STREAM_BACKLOG_TTL_S = env.int("JOB_STREAM_BACKLOG_TTL_S", default=2 * 3600)
JOB_STREAM_BACKLOG_FINISHED_TTL_S = 60
# Per-kind job time limits in seconds, overriding the defaults in apps/jobs/kinds.py ("tokenize=600,...").
JOB_TIME_LIMITS = {k: int(v) for k, v in env.dict("JOB_TIME_LIMITS", default={}).items()}
# A websocket ticket (POST /api/v1/ws-tickets/, apps/accounts/ws_tickets.py) must be redeemed within this many seconds.
WS_TICKET_TTL_S = env.int("WS_TICKET_TTL_S", default=60)
