"""The embedded default: SQLite, the bundled Redis, a local worker, auto sign-in."""

from webapp.settings.base import *  # noqa: F403
from webapp.settings.env import env
from workers.model_store.store import store_dir

DEBUG = env.bool("DEBUG", default=False)
TOKENSCOPE_LOCAL_AUTOLOGIN = env.bool("TOKENSCOPE_LOCAL_AUTOLOGIN", default=True)
# The local model store (bundled models, your converted folders) plus the folders listed in the environment.
TOKENSCOPE_ALLOWED_MODEL_ROOTS = [str(store_dir()), *env.list("TOKENSCOPE_ALLOWED_MODEL_ROOTS", default=[])]
# Pick up a rebuilt front end without restarting the server (single-user embedded default only).
WHITENOISE_AUTOREFRESH = True
