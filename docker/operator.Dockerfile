# Ferry operator image: `ferry-operator` (kopf), with the `[operator]` extra.
#   docker build -f docker/operator.Dockerfile -t ferry-operator:dev .
ARG PYTHON=python:3.11-slim

FROM ${PYTHON} AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY operator ./operator
COPY stack ./stack
RUN python -m venv /opt/ferry \
 && /opt/ferry/bin/pip install --upgrade pip \
 && /opt/ferry/bin/pip install ".[operator]"

FROM ${PYTHON}
LABEL org.opencontainers.image.title="ferry-operator" \
      org.opencontainers.image.description="Ferry operator: Connector resources into worker Deployments" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 ferry \
 && useradd --system --uid 10001 --gid ferry --home-dir /home/ferry --create-home ferry
COPY --from=build /opt/ferry /opt/ferry
ENV PATH=/opt/ferry/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /home/ferry
USER 10001:10001
EXPOSE 8080 9090
ENTRYPOINT ["ferry-operator"]
