# The hosted instance's image (web and workers). Not built or run on the development machines (no Docker engine
# there); `docker compose config` validates the compose file that uses it.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
# The commit recorded in every result's manifest (the image has no git): --build-arg TOKENSCOPE_COMMIT=$(git rev-parse HEAD)
ARG TOKENSCOPE_COMMIT=""
ENV TOKENSCOPE_COMMIT=$TOKENSCOPE_COMMIT
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=webapp.settings.production \
    TOKENSCOPE_MODEL_DIR=/models HOST=0.0.0.0 PORT=8000
WORKDIR /app
# The audio tokenizers' system libraries (Makefile SYSTEM_PACKAGES): LPCNet's weights live in libcodec2-1.0.
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libcodec2-1.0 codec2 codec2-examples libsndfile1 espeak-ng sox \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt requirements-assets.txt ./
RUN pip install --no-cache-dir -r requirements.txt && pip install --no-cache-dir --no-deps -r requirements-assets.txt
COPY . .
COPY --from=frontend /src/frontend/dist /app/frontend/dist
RUN SECRET_KEY=build-only-secret-key-build-only-secret-key-build-only-secret-key python manage.py collectstatic --noinput -v 0
EXPOSE 8000
# The same server command line as the embedded default (webapp/devstack.py web_command): uvicorn with one process per
# core (at least 2, at most 8; WEB_CONCURRENCY overrides), a 64 KiB websocket frame cap, query strings never logged.
# Behind a reverse proxy set FORWARDED_ALLOW_IPS to its address so the client address is the real one.
CMD ["python", "-m", "webapp.serve", "web"]
