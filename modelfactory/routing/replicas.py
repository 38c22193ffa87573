"""`make replicas`: the whole app as `make run` serves it, but with N web replicas behind HAProxy.

    python -m modelfactory.routing.replicas --replicas 3 --port 8000

Writes `var/replicas/haproxy.cfg` and `var/replicas/Procfile` (the Procfile's processes, its one `web`
replaced by `web1`..`webN` on the ports after `--port` plus `router`, HAProxy on `--port`) and hands over
to honcho (modelfactory/procfile_supervisor.py), which runs them all and stops them all on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from modelfactory.routing.haproxy_config import Replica, haproxy_config

ROOT = Path(__file__).resolve().parents[2]


def procfile(base: str, replicas: list[Replica], config: Path) -> str:
    """The Procfile's entries without `web`, then one web per replica and the router."""
    lines = [line for line in base.splitlines() if line.strip() and not line.startswith("web:")]
    web = next(line for line in base.splitlines() if line.startswith("web:")).split(":", 1)[1].strip()
    for replica in replicas:
        port = replica.address.rsplit(":", 1)[1]
        command = web.replace("${MF_WEB_PORT:-8000}", port).replace("${MF_WEB_HOST:-127.0.0.1}", "127.0.0.1")
        lines.append(f"{replica.name}: {command}")
    lines.append(f"router: haproxy -db -f {config}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--port", type=int, default=int(os.environ.get("MF_WEB_PORT", "8000")))
    args = parser.parse_args(argv)
    if shutil.which("haproxy") is None:
        raise SystemExit("haproxy is not installed: on Debian, apt-get install haproxy (make replicas does)")
    directory = ROOT / "var" / "replicas"
    directory.mkdir(parents=True, exist_ok=True)
    replicas = [Replica(f"web{i}", f"127.0.0.1:{args.port + i}") for i in range(1, args.replicas + 1)]
    config = directory / "haproxy.cfg"
    config.write_text(haproxy_config(replicas, bind=f"127.0.0.1:{args.port}", stats_bind="127.0.0.1:8404"))
    entries = directory / "Procfile"
    entries.write_text(procfile((ROOT / "Procfile").read_text(), replicas, config))
    print(
        f"{args.replicas} replicas on ports {args.port + 1}-{args.port + args.replicas}, "
        f"HAProxy on {args.port}"
    )
    print(
        "HAProxy's own page (which replica is up, how many requests each took): http://127.0.0.1:8404/stats"
    )
    supervisor = ["-m", "modelfactory.procfile_supervisor", "start", "-f", str(entries), "-d", str(ROOT)]
    os.execv(sys.executable, [sys.executable, *supervisor])


if __name__ == "__main__":
    main()
