# syntax=docker/dockerfile:1
# wa-policy-sidecar: multi-stage, slim, non-root, no secrets baked in.
# Secrets arrive at run time as files (Kubernetes Secret volumes) named by
# WA_SIDECAR_*_FILE variables.

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY sidecar ./sidecar
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-compile . \
 && /opt/venv/bin/pip uninstall --yes pip setuptools

FROM python:3.11-slim
ARG UID=65532
RUN useradd --uid "${UID}" --no-create-home --shell /usr/sbin/nologin sidecar \
 && mkdir -p /var/lib/wa-sidecar && chown "${UID}" /var/lib/wa-sidecar
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WA_SIDECAR_STATE_URL=sqlite:////var/lib/wa-sidecar/state.db
USER ${UID}
WORKDIR /var/lib/wa-sidecar
EXPOSE 50051 50052 9464
ENTRYPOINT ["wa-sidecar"]
CMD ["serve"]
