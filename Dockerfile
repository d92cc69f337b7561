# Mantissa Log: one image for every role. The command picks it:
#   serve (default)      the HTTP API       health: GET /healthz
#   worker               detection, delivery, housekeeping loops
#                        health: its heartbeat file (set MANTISSA_HEALTHCHECK=worker for that container)
#   init                 provisioning, run once with admin credentials (deploy/cloudformation.yaml does the same)
# Configuration is the MANTISSA_* environment (docs/DEPLOY.md). Runs as an unprivileged user.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MANTISSA_HOME=/var/lib/mantissa-log

RUN groupadd --system --gid 10001 mantissa \
 && useradd --system --uid 10001 --gid mantissa --home-dir /var/lib/mantissa-log --create-home --shell /usr/sbin/nologin mantissa

WORKDIR /opt/mantissa-log
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-compile . && rm -rf /opt/mantissa-log/src

USER mantissa:mantissa
WORKDIR /var/lib/mantissa-log
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["mantissa-log", "healthcheck"]
ENTRYPOINT ["mantissa-log"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
