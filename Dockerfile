# syntax=docker/dockerfile:1
#
# One image for every loracity command; the command line picks the service:
#   docker run IMAGE                         -> loracity ingest
#   docker run IMAGE db migrate --wait 60    -> loracity db migrate --wait 60
#   docker run IMAGE simulate run meetup     -> loracity simulate run meetup
#   docker run IMAGE api                     -> loracity api
# docker-compose.yml wires them to TimescaleDB, Mosquitto and Grafana (see deploy/README.md).

# --- build: install the project and its dependencies into a virtual environment ---------------
# `pip install .` builds the wheel and installs it (not editable), so the package data the
# wheel carries -- SQL migrations, dashboards, the board's static files -- ends up in the venv
# (tests/test_packaging.py checks the wheel).
FROM python:3.11.15-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv

WORKDIR /src
# The whole context, which .dockerignore keeps free of tests, benchmarks, deploy files, caches
# and secrets: a package added to pyproject.toml later is picked up without editing this file,
# and editing tests or deploy files reuses this layer. (README.md must stay: pyproject.toml
# names it as the package's readme.)
COPY . .
RUN /opt/venv/bin/pip install --no-cache-dir .

# --- runtime: the virtual environment only, no sources, no build tooling -----------------------
FROM python:3.11.15-slim

# The venv's interpreter links to /usr/local/bin/python3.11, which this stage shares with the
# build stage because both start from the same base image.
COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# A fixed uid so volume permissions and security policies can name it.
RUN groupadd --system --gid 10001 loracity \
    && useradd --system --uid 10001 --gid loracity --home-dir /home/loracity --create-home \
       --shell /usr/sbin/nologin loracity

USER loracity
WORKDIR /home/loracity

# /metrics, /healthz and /readyz of `loracity ingest`, and `loracity api` (LORACITY_METRICS_HOST
# and LORACITY_API_HOST must be 0.0.0.0 for them to be reachable from outside the container).
EXPOSE 9108 8000

ENTRYPOINT ["loracity"]
CMD ["ingest"]
