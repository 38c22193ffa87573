# One image for every ModelFactory process; docker-compose.yml picks the command per service.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MODELFACTORY_VAR_DIR=/data
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm build-essential \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --ignore-scripts --loglevel=error
COPY pyproject.toml README.md ./
COPY modelfactory ./modelfactory
COPY inference ./inference
COPY datanets ./datanets
COPY contracts ./contracts
# GPU hosts build with --build-arg EXTRAS=gpu to add flash-attn and bitsandbytes.
ARG EXTRAS=""
RUN python -m venv .venv && .venv/bin/pip install --no-cache-dir -e ".${EXTRAS:+[$EXTRAS]}"
COPY . .
RUN mkdir -p modelfactory/static/vendor \
 && cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx-ext-sse/dist/sse.min.js \
       node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map \
       modelfactory/static/vendor/ \
 && SECRET_KEY=build-only .venv/bin/python manage.py collectstatic --noinput -v 0

EXPOSE 8000
CMD [".venv/bin/uvicorn", "modelfactory.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
