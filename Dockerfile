# One image for both roles: the API (default command) and `hub worker`.
# Production settings come from the environment (see README: Configuration); the image
# does not contain the embedded development servers.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/hub && /opt/hub/bin/pip install .

FROM python:3.11-slim
RUN useradd --system --home-dir /app --shell /usr/sbin/nologin hub
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
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"
CMD ["uvicorn", "--factory", "hub.app:create_app", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--no-server-header", "--no-proxy-headers"]
