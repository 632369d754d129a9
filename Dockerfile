# syntax=docker/dockerfile:1
# Temporal Gateway: the workflow server on its embedded SQLite file in /data, its REST
# (HTTP/JSON) API on 7243 and gRPC (Temporal's WorkflowService) on 7233.
#   docker build -t temporal-gateway .
#   docker run -p 7243:7243 -p 7233:7233 -v temporal-gateway-data:/data \
#     -e TEMPORAL_GATEWAY_JWT_SECRET=<at least 32 characters> temporal-gateway
# (it serves on 0.0.0.0, which the gateway refuses without authentication configured)
# PostgreSQL instead: -e TEMPORAL_GATEWAY_DATABASE_URL=postgresql://user:pass@host/db

# ---- builder: install the package and its dependencies into a virtualenv ----
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# pyproject.toml names README.md as the package's readme, so the build needs it.
COPY pyproject.toml README.md ./
COPY app ./app
# Smoke test from outside the source tree: the installed package builds its app.
RUN pip install . \
    && cd / && temporal-gateway openapi > /dev/null

# ---- runtime: the same Python base image, the virtualenv, and nothing else ----
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TEMPORAL_GATEWAY_DATABASE_URL=sqlite:////data/temporal-gateway.db \
    TEMPORAL_GATEWAY_PORT=7243 \
    TEMPORAL_GATEWAY_GRPC_PORT=7233 \
    TEMPORAL_GATEWAY_SHUTDOWN_GRACE_SECONDS=2

RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin gateway \
    && mkdir /data \
    && chown gateway:gateway /data

# Same path as in the builder: the venv's scripts and symlinks point at /opt/venv and
# at /usr/local/bin/python3.11, which both images share.
COPY --from=builder /opt/venv /opt/venv

USER gateway
WORKDIR /data
# The SQLite database (and its WAL) lives here; mount a volume to keep it.
VOLUME /data
# The default ports, REST's and gRPC's; with another TEMPORAL_GATEWAY_PORT or
# TEMPORAL_GATEWAY_GRPC_PORT, publish that one (the HEALTHCHECK follows the REST one).
EXPOSE 7243 7233

# /readyz, not /livez: Docker has one health status, and what reads it (docker ps,
# compose's depends_on: service_healthy, a load balancer) wants "can serve": database
# answering, schema migrated, not stopping. Plain Docker restarts nothing for being
# unhealthy; under an orchestrator that does (Swarm), probe /livez instead so a database
# outage does not restart every gateway. The REST port comes from the environment.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request\ntry:\n    urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('TEMPORAL_GATEWAY_PORT', '7243'), timeout=4)\nexcept Exception:\n    sys.exit(1)"]

# Exec form: the server is PID 1 and receives `docker stop`'s signal directly. On it the
# gateway answers its open long polls at once, gives requests in flight
# TEMPORAL_GATEWAY_SHUTDOWN_GRACE_SECONDS, releases its shard leases and exits 0 within
# 5 s: `docker stop`'s default 10 s grace suffices (keep the setting below
# --stop-timeout if you raise it).
STOPSIGNAL SIGTERM
CMD ["temporal-gateway", "serve", "--host", "0.0.0.0"]
