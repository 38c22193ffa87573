"""Load test of the OpenAI-compatible API: N concurrent streaming chat clients for a bounded time.

    python -m modelfactory.api.loadtest --base-url http://127.0.0.1:8000 --api-key KEY \
        --clients 32 --seconds 120 --json var/loadtest.json

Loopback only (it is a load generator: it must never be pointed at someone else's server) and
bounded in time (at most MAX_SECONDS; requests in flight at the deadline are allowed to finish).
Each client streams chat completions back to back, cycling over the models given with --model (all
models the key may call by default). It reports errors by kind, time to first token p50/p95, and
generated tokens per second, counted from the `usage` chunk the server sends at the end of each stream.
Create a key with a rate limit that fits: `manage.py api_key_create USER load --rate-limit 100000`, and
start the server with the account's own limits raised (`MODELFACTORY_USER_REQUESTS_PER_MINUTE=100000
MODELFACTORY_USER_CONCURRENT_ANSWERS=64`): every client here is the same account.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from primitives.benchmark_report import bench_report, write_bench_report
from primitives.percentiles import percentile

MAX_SECONDS = 900
PROMPTS = [
    "What is 2 plus 3?",
    "Write one sentence about rivers.",
    "Name three colours.",
    "Say hello politely.",
]


class NotLoopback(ValueError):
    """The base URL names a host that is not this machine."""


def loopback_only(base_url: str) -> str:
    host = urlsplit(base_url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as error:
        raise NotLoopback(f"cannot resolve {host!r}: {error}") from None
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise NotLoopback(f"{host!r} is not a loopback address; this load test only targets this machine")
    return base_url.rstrip("/")


@dataclass
class Tally:
    requests: int = 0
    completion_tokens: int = 0
    ttft_s: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{kind}: {detail[:300]}")


async def one_stream(
    http: httpx.AsyncClient, tally: Tally, *, model: str, prompt: str, max_tokens: int
) -> None:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0.7,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    started = time.perf_counter()
    first: float | None = None
    done = False
    async with http.stream("POST", "/chat/completions", json=body) as response:
        if response.status_code != 200:
            tally.error(f"http_{response.status_code}", (await response.aread()).decode(errors="replace"))
            return
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                done = True
                break
            chunk = json.loads(data)
            if "error" in chunk:
                tally.error("stream_error", json.dumps(chunk["error"]))
                return
            if first is None and any(c.get("delta", {}).get("content") for c in chunk.get("choices", [])):
                first = time.perf_counter()
            if chunk.get("usage"):
                tally.completion_tokens += chunk["usage"]["completion_tokens"]
    if not done:
        tally.error("truncated_stream", "the stream ended without data: [DONE]")
        return
    tally.requests += 1
    tally.latency_s.append(time.perf_counter() - started)
    if first is not None:
        tally.ttft_s.append(first - started)


async def client_loop(
    number: int, http: httpx.AsyncClient, tally: Tally, *, models: list[str], deadline: float, max_tokens: int
) -> None:
    turn = number
    while time.perf_counter() < deadline:
        try:
            await one_stream(
                http,
                tally,
                model=models[turn % len(models)],
                prompt=PROMPTS[turn % len(PROMPTS)],
                max_tokens=max_tokens,
            )
        except (httpx.HTTPError, ValueError) as error:
            tally.error(type(error).__name__, str(error))
            await asyncio.sleep(0.1)  # a refused connection must not spin
        turn += 1


async def run(
    *, base_url: str, api_key: str, clients: int, seconds: float, models: list[str], max_tokens: int
) -> dict:
    base_url = loopback_only(base_url)
    seconds = min(seconds, MAX_SECONDS)
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(
        base_url=base_url + "/v1", headers=headers, timeout=httpx.Timeout(120.0), limits=limits
    ) as http:
        if not models:
            listed = await http.get("/models")
            listed.raise_for_status()
            models = [model["id"] for model in listed.json()["data"]]
        if not models:
            raise SystemExit("the key may call no model; publish one or pass --model")
        tally = Tally()
        started = time.perf_counter()
        await asyncio.gather(
            *(
                client_loop(
                    number, http, tally, models=models, deadline=started + seconds, max_tokens=max_tokens
                )
                for number in range(clients)
            )
        )
        elapsed = time.perf_counter() - started
    return {
        "base_url": base_url,
        "clients": clients,
        "seconds": round(elapsed, 3),
        "models": len(models),
        "requests": tally.requests,
        "requests_per_s": round(tally.requests / elapsed, 3),
        "errors": sum(tally.errors.values()),
        "errors_by_kind": dict(tally.errors),
        "error_samples": tally.error_samples,
        "completion_tokens": tally.completion_tokens,
        "tokens_per_s": round(tally.completion_tokens / elapsed, 3),
        "ttft_ms": {
            "p50": _ms(percentile(tally.ttft_s, 50)),
            "p95": _ms(percentile(tally.ttft_s, 95)),
        },
        "latency_ms": {
            "p50": _ms(percentile(tally.latency_s, 50)),
            "p95": _ms(percentile(tally.latency_s, 95)),
        },
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the server, loopback only")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=120.0, help=f"at most {MAX_SECONDS}")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--model", action="append", default=[], help="repeat; default: every model listed")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    try:
        report = asyncio.run(
            run(
                base_url=args.base_url,
                api_key=args.api_key,
                clients=args.clients,
                seconds=args.seconds,
                models=args.model,
                max_tokens=args.max_tokens,
            )
        )
    except NotLoopback as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    write_bench_report(args.json, bench_report("loadtest", report))
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
