# Ferry worker image: `ferry worker` (and `ferry run`, `ferry plugins`, ...).
#   docker build -f docker/worker.Dockerfile -t ferry-worker:dev .
# Add your own connector plugins in a child image:
#   FROM ferry-worker:dev
#   RUN pip install --no-cache-dir my-ferry-plugin
# (pip installs into the image's virtualenv, which the non-root user may not write at run time.)
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
 && /opt/ferry/bin/pip install .

FROM ${PYTHON}
LABEL org.opencontainers.image.title="ferry-worker" \
      org.opencontainers.image.description="Ferry worker: Kafka Connect rebuilt for Kubernetes, in Python" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 ferry \
 && useradd --system --uid 10001 --gid ferry --home-dir /home/ferry --create-home ferry
COPY --from=build /opt/ferry /opt/ferry
ENV PATH=/opt/ferry/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /home/ferry
# Numeric, so the kubelet can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8083
ENTRYPOINT ["ferry"]
CMD ["worker"]
