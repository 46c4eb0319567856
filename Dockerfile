# One image for both roles: the API (default command) and `hub worker`.
# Production settings come from the environment (see README: Configuration); the image
# does not contain the embedded development servers.
#
# Reproducible builds: every Python package comes from requirements.lock, pinned with its
# hashes (README: "Dependency lock"), and the base image by its digest, so a rebuild gets
# the same system libraries until someone moves it on deliberately (for security fixes):
#   docker buildx imagetools inspect python:3.11-slim     # prints "Digest: sha256:…"
# then change the default below (or pass --build-arg PYTHON_IMAGE=…@sha256:… once).
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock ./
# Wheels only, each checked against the lock's hashes: nothing is built from source, so no
# unpinned build tool is fetched either.
RUN python -m venv /opt/hub \
 && /opt/hub/bin/pip install --require-hashes --no-deps --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
# The hub itself, built offline by the locked hatchling; `pip check` fails the build when
# pyproject.toml asks for a version the lock does not hold.
RUN /opt/hub/bin/pip install --no-deps --no-build-isolation --no-index . \
 && /opt/hub/bin/pip check

FROM ${PYTHON_IMAGE}
# Tesseract for OCR in text extraction (README "Documents": images and scanned PDFs are
# `ocr_unavailable` without it). Add language packs here (tesseract-ocr-deu…) and name them
# in HUB_CONTENT_OCR_LANGUAGES; build with --build-arg OCR_PACKAGES= to leave OCR out.
ARG OCR_PACKAGES="tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra"
RUN if [ -n "$OCR_PACKAGES" ]; then \
      apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $OCR_PACKAGES \
      && rm -rf /var/lib/apt/lists/*; \
    fi
# HUB_DATA_DIR belongs to the hub user: uploaded files live in its blobs/ (the default
# HUB_STORAGE_URL). compose.yaml mounts one volume there for the API and the worker, which
# Docker fills from this directory, ownership included, on first use.
RUN useradd --system --home-dir /app --shell /usr/sbin/nologin hub \
 && mkdir -p /app/data/blobs \
 && chown -R hub:hub /app/data
COPY --from=build /opt/hub /opt/hub
COPY migrations /app/migrations
ENV PATH=/opt/hub/bin:$PATH \
    HUB_ENV=production \
    HUB_MIGRATIONS_DIR=/app/migrations \
    HUB_DATA_DIR=/app/data \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER hub
EXPOSE 8000
# /health with a Host the hub serves: the first HUB_ALLOWED_HOSTS entry ("*" -> "health",
# "*.example.com" -> "health.example.com"), localhost when unset, as the default allows it.
HEALTHCHECK --interval=15s --timeout=3s CMD ["python", "-c", "import os, sys, urllib.request as u; hosts = [h.strip() for h in os.environ.get('HUB_ALLOWED_HOSTS', 'localhost').split(',') if h.strip()]; host = hosts[0].replace('*', 'health', 1) if hosts else 'localhost'; r = u.urlopen(u.Request('http://127.0.0.1:8000/health', headers={'Host': host}), timeout=2); sys.exit(0 if r.status == 200 else 1)"]
# One uvicorn process per container: scale with replicas. Metrics stay per process without
# PROMETHEUS_MULTIPROC_DIR, and a bad setting stops the container (uvicorn's --workers
# supervisor exits 0 after a worker's startup failure).
CMD ["uvicorn", "--factory", "hub.app:create_app", "--host", "0.0.0.0", "--port", "8000", "--no-server-header", "--no-proxy-headers"]
