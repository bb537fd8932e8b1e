# syntax=docker/dockerfile:1
# wa-policy-sidecar: multi-stage, slim, non-root, no secrets baked in.
# Secrets arrive at run time as files (Kubernetes Secret volumes) named by
# WA_SIDECAR_*_FILE variables. Build (docs/deploy.md):
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     -t wa-policy-sidecar:0.1.0 .
# Checked by hadolint in `make test` (tests/e2e/test_helm_chart.py).

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY sidecar ./sidecar
# Byte-code is compiled here: under Kubernetes the root filesystem is read-only,
# so a start could not cache it and would compile every module each time.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install . \
 && /opt/venv/bin/pip uninstall --yes pip setuptools

FROM python:3.11-slim
ARG UID=65532
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="wa-policy-sidecar" \
      org.opencontainers.image.description="gRPC sidecar enforcing WhatsApp Cloud API policy: webhook verification, consent, quotas, retries, audit" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim"
# The UID the Helm chart's securityContext.runAsUser names (runAsNonRoot needs a number).
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
