"""Load test for `glcic serve`: mixed valid and invalid requests, a few at a time, on loopback.

Starts ``glcic serve`` as a child process on a free 127.0.0.1 port (a random-weight
network of width ``--width`` unless ``--model`` names a bundle), warms it up, then sends ``--rounds`` rounds of
``--requests`` requests, ``--concurrency`` at a time, and reports:

- status codes, and that no request got a 5xx;
- that every valid request came back as a PNG of its input's size, with every pixel
  outside the hole (and the blend's seam around it) equal to the input's, and every
  invalid one as the expected 4xx JSON;
- latency p50 / p95 / max of the valid requests, and throughput;
- the server's resident memory (VmRSS) after warm-up and after each round, to show it
  does not grow from round to round.

With ``--slow-clients N``, N more connections trickle an upload (a byte every 2 s) during
the rounds and reconnect whenever the server drops them, to show that slow clients do
not starve the others. Bounded: a fixed number of requests, at most ``--max-seconds``
of wall time.

The requests and their checks live in ``load_cases.py``, the ``glcic serve`` child
process in ``load_server.py``; this file drives the load and prints the report.

    python benchmarks/load_test.py                       # 2 rounds x 200 requests, 8 at a time
    python benchmarks/load_test.py --width 1             # the paper's network size (random weights)
    python benchmarks/load_test.py --model default       # the shipped model
    python benchmarks/load_test.py --url http://127.0.0.1:8000   # a server already running
    python benchmarks/load_test.py --slow-clients 24     # while 24 clients trickle their uploads
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

# Its sibling modules are imported like benchmarks/common.py is by the other benchmarks:
# from the script's own folder, which is on sys.path when it runs as a script but not
# when tests/server/test_load.py loads it by file path.
HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))

from load_cases import INPAINT, Case, check, make_case  # noqa: E402
from load_server import child_server, rss_mib, wait_healthy  # noqa: E402


@dataclass
class Report:
    requests: int = 0
    valid: int = 0
    valid_ok: int = 0
    invalid: int = 0
    invalid_ok: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)  # valid requests only
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


async def _send_all(url: str, cases: list[Case], concurrency: int, timeout: float) -> Report:
    report = Report(requests=len(cases))
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:

        async def one(case: Case) -> None:
            async with gate:
                started = time.perf_counter()
                try:
                    response = await client.post(INPAINT, **case.request)
                except httpx.HTTPError as e:
                    report.failures.append(f"{case.kind}: {type(e).__name__}: {e}")
                    return
                elapsed_ms = (time.perf_counter() - started) * 1000
            report.statuses[response.status_code] += 1
            problem = check(case, response)
            if case.valid:
                report.valid += 1
                report.latencies_ms.append(elapsed_ms)
                report.valid_ok += problem is None
            else:
                report.invalid += 1
                report.invalid_ok += problem is None
            if problem:
                report.failures.append(problem)

        started = time.perf_counter()
        await asyncio.gather(*(one(c) for c in cases))
        report.wall_s = time.perf_counter() - started
    return report


def run_load(
    url: str, requests: int = 200, concurrency: int = 8, seed: int = 0, timeout: float = 60.0
) -> Report:
    """Send ``requests`` mixed requests to ``url``, ``concurrency`` at a time; return the report."""
    rng = np.random.default_rng(seed)
    cases = [make_case(rng) for _ in range(requests)]
    return asyncio.run(_send_all(url, cases, concurrency, timeout))


class SlowClients:
    """``n`` connections that send the headers of a 1 MiB upload, then one byte every
    ``interval`` s, reopened whenever the server drops them: slow clients holding
    upload slots while the rounds run. A context manager; its thread stops on exit."""

    def __init__(self, url: str, n: int, interval: float = 2.0) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.n, self.interval = n, interval
        self.dropped: Counter = Counter()  # the server's answers to them, by status line
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)

    def __enter__(self) -> SlowClients:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _open(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(
            f"POST {INPAINT} HTTP/1.1\r\nHost: {self.address[0]}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{".encode()
        )
        sock.setblocking(False)
        return sock

    def _run(self) -> None:
        socks = [self._open() for _ in range(self.n)]
        try:
            while not self._stop.wait(self.interval):
                for i, sock in enumerate(socks):
                    try:
                        answer = sock.recv(4096)
                    except BlockingIOError:  # nothing from the server: still uploading
                        try:
                            sock.send(b" ")
                            continue
                        except OSError:
                            answer = b""
                    except OSError:
                        answer = b""
                    self.dropped[answer.split(b"\r\n")[0].decode("latin-1") or "closed"] += 1
                    sock.close()
                    socks[i] = self._open()
        finally:
            for sock in socks:
                sock.close()


def run_rounds(
    url: str, args: argparse.Namespace, proc: subprocess.Popen | None
) -> list[tuple[str, Report, float]]:
    """A warm-up, then ``args.rounds`` rounds: (name, report, server RSS MiB after it) each."""
    rss = (lambda: rss_mib(proc.pid)) if proc else (lambda: float("nan"))
    deadline = time.monotonic() + args.max_seconds
    warm = run_load(
        url,
        requests=max(16, args.concurrency * 2),
        concurrency=args.concurrency,
        seed=10_000 + args.seed,
    )
    rows = [("warm-up", warm, rss())]
    with SlowClients(url, args.slow_clients) if args.slow_clients else nullcontext() as slow:
        for k in range(args.rounds):
            if time.monotonic() > deadline:
                print(f"stopping: --max-seconds {args.max_seconds:g} reached", file=sys.stderr)
                break
            rep = run_load(
                url, requests=args.requests, concurrency=args.concurrency, seed=args.seed + k
            )
            rows.append((f"round {k + 1}", rep, rss()))
    if slow is not None:
        answers = ", ".join(f"{n} x {what}" for what, n in slow.dropped.most_common())
        print(
            f"slow clients: {args.slow_clients} kept open; the server dropped them {answers or 'never'}"
        )
    return rows


def print_report(rows: list[tuple[str, Report, float]], args: argparse.Namespace) -> int:
    """Print the table of ``rows``; 1 when any request got a 5xx or a wrong answer, else 0."""
    model = f"random (width {args.width:g})" if args.model == "random" else args.model
    print(
        f"glcic load test: {args.requests} requests x {args.rounds} rounds, {args.concurrency} at a time, "
        f"model {model}, server --max-concurrent {args.max_concurrent} --queue {args.queue}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end"
    )
    print()
    print(
        "| run | requests | statuses | 5xx | valid ok | invalid ok | p50 ms | p95 ms | max ms | req/s | server RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    failed = False
    for name, rep, mem in rows:
        statuses = " ".join(f"{s}:{n}" for s, n in sorted(rep.statuses.items()))
        print(
            f"| {name} | {rep.requests} | {statuses} | {rep.server_errors} | {rep.valid_ok}/{rep.valid} | "
            f"{rep.invalid_ok}/{rep.invalid} | {rep.percentile(50):.0f} | {rep.percentile(95):.0f} | "
            f"{max(rep.latencies_ms, default=float('nan')):.0f} | {rep.requests / rep.wall_s:.1f} | {mem:.0f} |"
        )
        failed |= bool(rep.server_errors or rep.failures)
    for name, rep, _ in rows:
        for f in rep.failures[:10]:
            print(f"{name}: FAIL {f}", file=sys.stderr)
    return 1 if failed else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=200, help="requests per round (default 200)")
    p.add_argument(
        "--concurrency", type=int, default=8, help="requests in flight at once (default 8)"
    )
    p.add_argument("--rounds", type=int, default=2, help="rounds after the warm-up (default 2)")
    p.add_argument(
        "--model", default="random", help="'random' (random weights), 'default' or a bundle folder"
    )
    p.add_argument(
        "--width",
        type=float,
        default=0.125,
        help="channel width of --model random (default 1/8; 1 = the paper's)",
    )
    p.add_argument(
        "--max-concurrent", type=int, default=2, help="server's --max-concurrent (default 2)"
    )
    p.add_argument(
        "--queue", type=int, default=16, help="server's --queue (default 16, above --concurrency)"
    )
    p.add_argument(
        "--url", help="test a server already running at this URL instead of starting one"
    )
    p.add_argument(
        "--max-seconds", type=float, default=600, help="give up after this long (default 600)"
    )
    p.add_argument(
        "--slow-clients",
        type=int,
        default=0,
        help="connections that trickle an upload (a byte every 2 s) during the rounds (default 0)",
    )
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.url is None:
        server = child_server(args.model, args.width, args.max_concurrent, args.queue)
    else:  # a server already running: nothing to start, stop or measure
        server = nullcontext((args.url, None))
    with server as (url, proc):
        wait_healthy(url, proc)
        rows = run_rounds(url, args, proc)
    return print_report(rows, args)


if __name__ == "__main__":
    sys.exit(main())
