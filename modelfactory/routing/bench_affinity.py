"""What adapter-affinity routing buys, measured: N web replicas behind HAProxy, many adapters, real requests.

    python -m modelfactory.routing.bench_affinity --replicas 3 --adapters 32 --seconds 40 \
        --json var/bench/routing.json

It builds a world of its own in `--workdir` (a SQLite database, the default base model, `--adapters`
random adapters published free of charge, a user and an API key), starts the replicas (each its own
uvicorn process with its own engine and adapter cache, the cache's tiers made small enough that one
replica cannot hold every adapter) and HAProxy in front, then runs three phases in one run:

1. **consistent**: answers routed by model on HAProxy's consistent-hash ring (what deployments use);
2. **round robin**: the same load with the answers spread round robin (the baseline);
3. **failover**: consistent hashing again, and one replica killed (SIGKILL) a third of the way in.

For 1 and 2 it reports the share of requests whose adapter was already in a replica's device or host
memory, not read from disk (each replica's `/metrics`, before and after), with throughput and latency;
for 3, how many requests failed and why, and how long after the kill until every adapter the dead
replica served had answered again from another replica. Clients pick adapters by a Zipf law, as real
traffic does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from modelfactory.routing.haproxy_config import Replica, haproxy_config
from primitives.benchmark_report import bench_report, ratio, write_bench_report
from primitives.percentiles import percentile

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DISK_LOADS = re.compile(r"^modelfactory_engine_adapter_disk_loads_total ([0-9.e+]+)$", re.M)


@dataclass
class Outcome:
    started: float
    ended: float
    model: str
    status: int | str
    served_by: str
    error: str = ""


@dataclass
class Phase:
    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    disk_loads: int = 0

    def report(self, seconds: float) -> dict:
        ok = [o for o in self.outcomes if o.status == 200]
        latencies = [o.ended - o.started for o in ok]
        # Each disk load is one request that found its adapter in neither tier (requests for an adapter
        # being loaded wait for that one load): the rest were served from device or host memory.
        from_memory = max(0, len(ok) - self.disk_loads) / len(ok) if ok else None
        return {
            "requests": len(self.outcomes),
            "succeeded": len(ok),
            "requests_per_s": round(len(ok) / seconds, 3),
            "latency_ms_p50": _ms(latencies, 50),
            "latency_ms_p95": _ms(latencies, 95),
            "adapter_disk_loads": self.disk_loads,
            "served_from_memory_share": None if from_memory is None else round(from_memory, 4),
            "failures": dict(Counter(str(o.status) for o in self.outcomes if o.status != 200)),
            "failure_samples": sorted({o.error for o in self.outcomes if o.error})[:5],
            "by_replica": dict(Counter(o.served_by for o in ok)),
        }


def _ms(values: list[float], q: float) -> float | None:
    value = percentile(values, q)
    return None if value is None else round(value * 1000, 1)


# --- the world ------------------------------------------------------------------------------------------
def environment(workdir: Path, base_model: str, args: argparse.Namespace) -> dict[str, str]:
    return {
        **os.environ,
        "MODELFACTORY_VAR_DIR": str(workdir),
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "MODELFACTORY_BASE_MODEL": base_model,
        "MODELFACTORY_ENGINE_DEVICE_ADAPTER_MB": str(args.device_adapter_mb),
        "MODELFACTORY_ENGINE_HOST_ADAPTER_MB": str(args.host_adapter_mb),
        "MODELFACTORY_USER_REQUESTS_PER_MINUTE": "1000000",
        "MODELFACTORY_USER_CONCURRENT_ANSWERS": "1000",
        "MODELFACTORY_ENGINE_KV_CACHE_MB": "64",
        "MODELFACTORY_METRICS_ALLOW": "127.0.0.1/32",
    }


SETUP = """
from django.db.models import Q
from modelfactory.accounts.models import User
from modelfactory.api.services import api_key_create
from modelfactory.catalog.models import PublishedModel
user, _ = User.objects.get_or_create(username="bench")
PublishedModel.objects.filter(api_name__startswith="random-").update(
    owner=user, fee_rate_in=0, fee_rate_out=0, fee_platform=0
)
print("KEY=" + api_key_create(user=user, name="bench", rate_limit_per_minute=1000000)[1])
"""


def build_world(env: dict[str, str], base_model: str, adapters: int) -> str:
    """Database, base model, free random adapters, a user and a key; returns the key's secret."""

    def manage(*command: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(command[:2])} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    manage("migrate", "--noinput", "-v", "0")
    manage("register_base_model", Path(base_model).name, base_model, "--default")
    manage(
        "shell",
        "-c",
        'from modelfactory.accounts.models import User; User.objects.get_or_create(username="bench")',
    )
    manage("create_random_adapters", "--count", str(adapters), "--owner", "bench")
    output = manage("shell", "-c", SETUP)
    return next(line[4:] for line in output.splitlines() if line.startswith("KEY="))


class Cluster:
    """The replicas and HAProxy in front of them, as child processes of this benchmark."""

    def __init__(self, env: dict[str, str], workdir: Path, replicas: int, port: int) -> None:
        self.env, self.workdir, self.port = env, workdir, port
        self.replicas = [Replica(f"web{i + 1}", f"127.0.0.1:{port + 1 + i}") for i in range(replicas)]
        self.web: dict[str, subprocess.Popen] = {}
        self.proxy: subprocess.Popen | None = None

    def start_replicas(self) -> None:
        for replica in self.replicas:
            port = replica.address.rsplit(":", 1)[1]
            log = open(self.workdir / f"{replica.name}.log", "w")  # noqa: SIM115 - closed with the process
            self.web[replica.name] = subprocess.Popen(
                [PYTHON, "-m", "uvicorn", "modelfactory.asgi:application", "--port", port, "--no-access-log"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        for replica in self.replicas:
            wait_for(f"http://{replica.address}/readyz", timeout=120)

    def route(self, balance: str) -> None:
        """(Re)start HAProxy with answers routed by `balance`."""
        self.stop_proxy()
        config = self.workdir / f"haproxy-{balance}.cfg"
        config.write_text(
            haproxy_config(
                self.replicas,
                bind=f"127.0.0.1:{self.port}",
                balance=balance,
                check_interval_ms=500,
                tag_replica=True,
            )
        )
        self.proxy = subprocess.Popen(
            ["haproxy", "-db", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "haproxy.log", "a"),  # noqa: SIM115
        )
        wait_for(f"http://127.0.0.1:{self.port}/livez", timeout=30)
        time.sleep(1.5)  # the first health checks mark every server up

    def kill(self, name: str) -> None:
        self.web[name].send_signal(signal.SIGKILL)

    def disk_loads(self) -> int:
        """Adapter reads from disk, all live replicas together (their /metrics, loopback is allowed)."""
        total = 0
        for name, replica in zip(self.web, self.replicas, strict=True):
            if self.web[name].poll() is None:
                text = httpx.get(f"http://{replica.address}/metrics", timeout=10).text
                total += sum(int(float(value)) for value in DISK_LOADS.findall(text))
        return total

    def stop_proxy(self) -> None:
        if self.proxy is not None:
            self.proxy.terminate()
            self.proxy.wait(10)
            self.proxy = None

    def close(self) -> None:
        self.stop_proxy()
        for process in self.web.values():
            if process.poll() is None:
                process.terminate()
        for process in self.web.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for(url: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


# --- load ------------------------------------------------------------------------------------------------
def zipf_weights(count: int, exponent: float) -> list[float]:
    return [1 / (rank + 1) ** exponent for rank in range(count)]


async def load(
    *, base_url: str, key: str, models: list[str], clients: int, seconds: float, seed: int, max_tokens: int
) -> list[Outcome]:
    rng = random.Random(seed)
    weights = zipf_weights(len(models), 1.0)
    outcomes: list[Outcome] = []
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}"}

    async def client(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            model = rng.choices(models, weights)[0]
            body = {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": max_tokens}
            started = time.perf_counter()
            try:
                response = await http.post("/v1/chat/completions", json=body)
                status, served_by = response.status_code, response.headers.get("x-served-by", "?")
                error = "" if status == 200 else response.text[:200]
            except httpx.HTTPError as failure:
                status, served_by, error = type(failure).__name__, "?", str(failure)[:200]
                await asyncio.sleep(0.05)
            outcomes.append(Outcome(started, time.perf_counter(), model, status, served_by, error))

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)  # a new routing per request
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return outcomes


def measured(cluster: Cluster, phase: Phase, **load_args) -> Phase:
    before = cluster.disk_loads()
    phase.outcomes = asyncio.run(load(**load_args))
    phase.disk_loads = cluster.disk_loads() - before
    return phase


def failover(cluster: Cluster, victim: str, seconds: float, **load_args) -> dict:
    """Consistent hashing with one replica killed a third of the way in."""
    started = time.perf_counter()

    async def run() -> list[Outcome]:
        task = asyncio.create_task(load(seconds=seconds, **load_args))
        await asyncio.sleep(seconds / 3)
        cluster.kill(victim)
        return await task

    killed_at = started + seconds / 3
    outcomes = asyncio.run(run())
    theirs = {o.model for o in outcomes if o.served_by == victim and o.ended < killed_at}
    # How its adapters were absorbed: the first answer of each after the kill, and how long it took (a
    # disk load on its new replica). Rarely asked adapters may not be asked again before the run ends.
    first_after = {}
    for model in theirs:
        asked = [o for o in outcomes if o.model == model and o.started > killed_at]
        if asked:
            first = min(asked, key=lambda o: o.started)
            first_after[model] = (first.status, first.ended - first.started)
    failed = [o for o in outcomes if o.status != 200]
    latencies = [latency for status, latency in first_after.values() if status == 200]
    return {
        "killed": victim,
        "requests": len(outcomes),
        "failed": len(failed),
        "failures": dict(Counter(str(o.status) for o in failed)),
        "failure_samples": sorted({o.error for o in failed if o.error})[:5],
        "failed_after_kill_s": sorted(round(o.ended - killed_at, 2) for o in failed),
        "adapters_of_the_killed_replica": len(theirs),
        "of_them_asked_again": len(first_after),
        "of_them_answered_at_first_ask": sum(1 for status, _ in first_after.values() if status == 200),
        "first_answer_latency_ms_p50": _ms(latencies, 50),
        "first_answer_latency_ms_max": _ms(latencies, 100),
        "last_failure_after_kill_s": round(max((o.ended - killed_at for o in failed), default=0.0), 2),
        "by_replica_after_kill": dict(
            Counter(o.served_by for o in outcomes if o.status == 200 and o.started > killed_at)
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--adapters", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=40.0, help="per phase")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=4)
    parser.add_argument("--port", type=int, default=8180, help="HAProxy's; replicas take the next ones")
    # Random adapters on SmolLM2 are 4-30 MB in fp32: a replica's memory holds about a third of 32 of them.
    parser.add_argument("--device-adapter-mb", type=int, default=48, help="each replica's device tier")
    parser.add_argument("--host-adapter-mb", type=int, default=96, help="each replica's host tier")
    parser.add_argument("--base-model", default=str(ROOT / "var" / "models" / "smollm2-135m-instruct"))
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "routing-bench")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if shutil.which("haproxy") is None:
        raise SystemExit("haproxy is not installed (Debian: apt-get install haproxy)")
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    env = environment(args.workdir, args.base_model, args)
    key = build_world(env, args.base_model, args.adapters)
    models = [f"random-{index}" for index in range(args.adapters)]
    cluster = Cluster(env, args.workdir, args.replicas, args.port)
    try:
        cluster.start_replicas()
        common = {
            "base_url": f"http://127.0.0.1:{args.port}",
            "key": key,
            "models": models,
            "clients": args.clients,
            "max_tokens": args.max_tokens,
        }
        cluster.route("roundrobin")  # warm every engine (base model loaded) before anything is measured
        asyncio.run(load(seconds=10, seed=99, **common))
        phases = {}
        for balance in ("consistent", "roundrobin"):
            cluster.route(balance)
            asyncio.run(load(seconds=5, seed=7, **common))  # the tiers settle under this routing
            phases[balance] = measured(cluster, Phase(balance), seconds=args.seconds, seed=1, **common)
        cluster.route("consistent")
        failed = failover(cluster, cluster.replicas[-1].name, args.seconds, seed=2, **common)
    finally:
        cluster.close()
    consistent, robin = (phases[name].report(args.seconds) for name in ("consistent", "roundrobin"))
    report = {
        "replicas": args.replicas,
        "adapters": args.adapters,
        "clients": args.clients,
        "seconds_per_phase": args.seconds,
        "tiers_mb": {"device": args.device_adapter_mb, "host": args.host_adapter_mb},
        "consistent": consistent,
        "roundrobin": robin,
        "failover": failed,
    }
    ratios = {
        "memory_share": ratio(consistent["served_from_memory_share"], robin["served_from_memory_share"]),
        "throughput": ratio(consistent["requests_per_s"], robin["requests_per_s"]),
    }
    print(json.dumps({**report, "ratios": ratios}, indent=2))
    write_bench_report(args.json, bench_report("routing-affinity", report, ratios=ratios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
