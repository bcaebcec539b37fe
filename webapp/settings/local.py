"""The embedded default: SQLite, the bundled Redis, a local worker, auto sign-in."""

from webapp.settings.base import *  # noqa: F403
from webapp.settings.env import env

DEBUG = env.bool("DEBUG", default=False)
TOKENSCOPE_LOCAL_AUTOLOGIN = env.bool("TOKENSCOPE_LOCAL_AUTOLOGIN", default=True)
# Pick up a rebuilt front end without restarting the server (single-user embedded default only).
WHITENOISE_AUTOREFRESH = True
