# The one container image of every component (docs/container-image.md): `samhandling serve <component>`.
#
#   docker build -t samhandling .        (or: podman build, buildah build): production, no seeds
#   docker run --read-only --tmpfs /tmp samhandling serve consent
#   docker build --target dev -t samhandling:dev .   the same plus the synthetic seeds, in dev mode
#
# BASE is any Debian-family image with CPython 3.11 as `python3` and its venv module: by default
# the official slim image; CI builds on a Debian bookworm root made with debootstrap (no registry).
# Both stages must use the same BASE: the runtime stage runs the virtual environment built here.
ARG BASE=python:3.11-slim-bookworm
# Static analysis (checkov), two findings justified here:
# checkov:skip=CKV_DOCKER_7:the base is the build argument BASE, a version tag by default; production builds pin a digest
# checkov:skip=CKV_DOCKER_2:Kubernetes probes grpc.health.v1 natively and ignores HEALTHCHECK; no probe client in the image

FROM ${BASE} AS builder
# A build behind a mirror or a TLS-intercepting proxy names them here (RUN sees build arguments as
# environment variables; unset, pip uses PyPI and its own CA bundle). The lock's hashes hold either way.
ARG PIP_INDEX_URL
ARG PIP_CERT
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what the wheel is built from (.dockerignore admits nothing else: no seeds/, tests/, var/).
COPY pyproject.toml README.md ./
COPY protos protos
COPY services services
COPY gateway gateway
# The virtual environment the runtime stage copies; its pip (from ensurepip: a bare Debian python3
# has none) also builds the wheel, whose build requirements pip installs in an isolated environment.
RUN ["python3", "-m", "venv", "/opt/samhandling"]
RUN ["/opt/samhandling/bin/python", "-m", "pip", "wheel", "--no-deps", "--wheel-dir", "/dist", "."]
# The runtime dependencies exactly as locked: every file checked against its hash, nothing
# resolved here (--no-deps), wheels only, no dev extras. Then the project's wheel, again without
# resolving, and `pip check` that the lock holds every dependency the wheels declare.
COPY requirements.lock /tmp/requirements.lock
RUN ["/opt/samhandling/bin/python", "-m", "pip", "install", "--require-hashes", "--no-deps", "--only-binary=:all:", \
     "-r", "/tmp/requirements.lock"]
RUN /opt/samhandling/bin/python -m pip install --no-deps /dist/samhandling-*.whl \
 && /opt/samhandling/bin/python -m pip check \
 && /opt/samhandling/bin/python -m pip uninstall --yes pip

FROM ${BASE} AS runtime
# Bytecode was compiled at install time; a read-only root must not be written to at run time.
# SAMHANDLING_ENV=production: the image starts in production mode unless told otherwise, so it
# refuses development keys, the dev STS and synthetic persons (services/platform/production.py).
# The var dir (SQLite files and development secrets, unused with PostgreSQL in production) is the
# only place the code writes to; it lies under /tmp, the one writable path (mount an emptyDir).
ENV PATH=/opt/samhandling/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    SAMHANDLING_ENV=production \
    SAMHANDLING_VAR_DIR=/tmp/samhandling
COPY --from=builder /opt/samhandling /opt/samhandling
# A numeric non-root user with no entry in /etc/passwd: Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /tmp
# The gateway's gRPC and HTTP ports, then the backends' (each binds what SAMHANDLING_*_ADDR or SAMHANDLING_LISTEN says).
EXPOSE 50050 8080 50051 50052 50053 50054
ENTRYPOINT ["/opt/samhandling/bin/samhandling"]
CMD ["serve", "gateway"]

# The development image (k8s/overlays/dev, `--target dev`): the runtime image plus seeds/, the
# synthetic people and clients and the development keys, for the dev STS and `samhandling seed`.
# Development mode by default; production mode refuses every key it holds (they live in seeds/).
FROM runtime AS dev
COPY seeds /opt/samhandling/seeds
ENV SAMHANDLING_ENV=dev \
    SAMHANDLING_SEEDS_DIR=/opt/samhandling/seeds

# The production image, the default target: the runtime stage alone, no seeds.
FROM runtime AS production
