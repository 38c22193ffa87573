"""No Docker engine runs here, so the compose file is checked for what it asks the project to run."""

from __future__ import annotations

import shlex

import yaml

from tests.support.processes import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
APP_SERVICES = {
    "web",
    "migrate",
    "deploy-contracts",
    "worker-cpu",
    "worker-gpu",
    "worker-settlement",
    "beat",
    "chain",
}


def test_compose_has_every_service_of_the_architecture():
    assert set(COMPOSE["services"]) >= APP_SERVICES | {"postgres", "redis"}


def test_every_command_the_app_services_run_exists_in_the_project():
    for name in APP_SERVICES:
        command = COMPOSE["services"][name]["command"]
        executable = command[0]
        if executable.startswith(".venv/bin/"):
            assert (REPO / executable).exists(), f"{name}: {executable} is not installed by `make setup`"
        else:
            assert (REPO / executable).exists(), f"{name}: {executable} missing"
        if "-A" in command:
            assert command[command.index("-A") + 1] == "modelfactory"
            assert (REPO / "modelfactory" / "celery.py").exists()
        if "manage.py" in command:
            assert (REPO / "manage.py").exists()
        if executable.endswith("uvicorn"):
            module, attribute = command[1].split(":")
            assert (REPO / (module.replace(".", "/") + ".py")).read_text().count(f"{attribute} =") == 1


def test_the_gpu_worker_reserves_one_gpu_and_runs_one_job_at_a_time():
    worker = COMPOSE["services"]["worker-gpu"]
    command = worker["command"]
    assert command[command.index("--queues") + 1] == "gpu"
    assert command[command.index("--concurrency") + 1] == "1"
    device = worker["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["capabilities"] == ["gpu"]
    assert device["count"] == 1


def test_compose_settings_are_the_ones_the_app_reads():
    settings_source = "".join(
        (REPO / "modelfactory" / "settings" / name).read_text() for name in ("base.py", "env.py")
    )
    environment = COMPOSE["services"]["web"]["environment"]
    for variable in environment:
        assert f'"{variable}"' in settings_source, variable


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
    """A development chain, the database or the broker reachable from outside is a way in: only `web`
    (behind its own authentication) may listen on every interface."""
    for name, service in COMPOSE["services"].items():
        for port in service.get("ports", []):
            if name != "web":
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_only_the_processes_that_sign_hold_the_operator_key():
    signers = {"deploy-contracts", "worker-settlement"}
    for name in APP_SERVICES - {"chain"}:
        environment = COMPOSE["services"][name].get("environment", COMPOSE["x-app"]["environment"])
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

    in_compose = set().union(
        *(queues(service.get("command", [])) for service in COMPOSE["services"].values())
    )
    in_procfile = set().union(
        *(queues(shlex.split(line)) for line in procfile.splitlines() if "--queues" in line)
    )
    assert routed <= in_compose
    assert routed <= in_procfile


def test_the_public_web_process_signs_vouchers_with_a_key_of_their_own():
    web = COMPOSE["services"]["web"]["environment"]

    assert web["MODELFACTORY_VOUCHER_KEY"].startswith("${MODELFACTORY_VOUCHER_KEY:?")
    assert "CHAIN_OPERATOR_KEY" not in web
    assert (
        "MODELFACTORY_VOUCHER_KEY" in COMPOSE["services"]["deploy-contracts"]["environment"]
    )  # grants its role
