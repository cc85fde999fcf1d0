# One image for every lab service and for JupyterLab (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LAB_HOME=/data

# promtool and a private Prometheus for the monitoring exercise's checks (ex11) and check_rules() in notebooks;
# the lab's own Prometheus and Alertmanager run in containers of their own (docker-compose.yml).
RUN apt-get update && apt-get install -y --no-install-recommends prometheus && rm -rf /var/lib/apt/lists/*

# /traces: the shared volume every container writes its spans to (docker-compose.yml)
RUN useradd --create-home --uid 1000 lab && mkdir -p /data /lab /traces && chown lab:lab /data /lab /traces
WORKDIR /lab

# Dependencies first, so editing the notebooks does not reinstall them.
COPY pyproject.toml README.md ./
COPY labkit ./labkit
COPY labservices ./labservices
RUN pip install --no-cache-dir -e .

COPY --chown=lab:lab notebooks ./notebooks
COPY --chown=lab:lab exercises ./exercises

USER lab
EXPOSE 8001 8002 8003 8010 8011 8012 8013 8014 8015 8016 1025 8017 8018 8020 8021 8022 8023 8024 8025 8030 8031 8032 8033 8034 8089 8888
CMD ["lab", "status"]
