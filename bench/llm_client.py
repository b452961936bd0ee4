"""Micro-benchmark of the worker's LLM call path: streamed replies through `LlmClient.stream`.

    uv run python bench/llm_client.py [--calls 3000] [--in-flight 100] [--compare OLD_CLIENT_PY]

(An OLD_CLIENT_PY from before 3 December 2026 is built on httpx2: `uv run --with httpx2 python ...`.)

The offline stub runs as a process of its own (`mukti llm-stub`, no latency); this process
makes `--calls` streamed calls with `--in-flight` at a time, after a warm-up, and prints its
own CPU seconds per call (time.process_time), calls/s and the TCP connections it opened (a
keep-alive pool opens about as many as calls in flight, once). `--compare` runs an earlier
core/llm/client.py too (e.g. `git show REV:core/llm/client.py > /tmp/old_client.py`), in
the same run and the same stub, alternating rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import free_port, wait_http  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = [
    {"role": "system", "content": "You are a Socratic tutor."},
    {"role": "user", "content": "I think justice is whatever the strongest decide it is."},
]
connections_opened = 0


def count_connections() -> None:
    """Count every TCP connection the HTTP pools open: aiohttp's TCPConnector, and httpcore2's
    anyio backend that clients before 3 December 2026 were built on (no longer a dependency:
    `uv run --with httpx2 ...` to compare with one)."""
    targets: list[tuple[type, str]] = [(aiohttp.TCPConnector, "_create_direct_connection")]
    try:
        anyio_backend = importlib.import_module("httpcore2._backends.anyio")
    except ImportError:
        pass
    else:
        targets.append((anyio_backend.AnyIOBackend, "connect_tcp"))
    for cls, name in targets:
        connect = getattr(cls, name)

        async def counted(self, *args, _connect=connect, **kwargs):
            global connections_opened
            connections_opened += 1
            return await _connect(self, *args, **kwargs)

        setattr(cls, name, counted)


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


async def run(module: ModuleType, base_url: str, calls: int, in_flight: int) -> tuple[float, float, int]:
    """(CPU seconds per call, calls/s, connections opened) of `calls` streamed calls, after a warm-up."""
    global connections_opened
    client = module.LlmClient(base_url=base_url, api_key=None, timeout=30, max_connections=in_flight + 16)
    never = asyncio.Event()

    async def batch(n: int) -> None:
        left = iter(range(n))

        async def loop() -> None:
            for _ in left:
                reply = await client.stream("gpt-4o-mini", MESSAGES, lambda _text: None, never)
                assert reply.content and not reply.usage_estimated

        await asyncio.gather(*(loop() for _ in range(in_flight)))

    try:
        await batch(in_flight * 3)
        connections_opened = 0
        cpu, wall = time.process_time(), time.perf_counter()
        await batch(calls)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return cpu / calls, calls / wall, connections_opened
    finally:
        await client.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", type=Path, help="an earlier core/llm/client.py to run alongside")
    args = parser.parse_args()
    count_connections()
    clients = {"current": load(ROOT / "core/llm/client.py", "bench_client_current")}
    if args.compare:
        clients = {"compared": load(args.compare, "bench_client_compared"), **clients}
    port = free_port()
    stub = subprocess.Popen(
        [sys.executable, "-m", "cli", "llm-stub", "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models")
        results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in clients}
        for _ in range(args.rounds):
            for name, module in clients.items():
                results[name].append(
                    asyncio.run(run(module, f"http://127.0.0.1:{port}/v1", args.calls, args.in_flight))
                )
        print(f"{args.calls} streamed calls, {args.in_flight} in flight, {args.rounds} rounds (median)")
        for name, rounds in results.items():
            cpu = sorted(r[0] for r in rounds)[len(rounds) // 2]
            rate = sorted(r[1] for r in rounds)[len(rounds) // 2]
            opened = [r[2] for r in rounds]
            print(f"  {name:9} {cpu * 1e6:7.0f} µs CPU/call  {rate:7.0f} calls/s  connections opened {opened}")
    finally:
        stub.terminate()
        stub.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
