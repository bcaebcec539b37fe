"""Environment access shared by every settings module (12-factor: configuration comes from the environment)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = BASE_DIR / "var"
env = environ.Env()
