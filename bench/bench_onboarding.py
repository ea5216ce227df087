"""Onboarding: time from `intelgraph tenant create` to the new tenant's first successful call.

Runs the CLI as an operator would (a subprocess, unattended with --json) against the
database of a running server, then calls the API with the printed key. Prints figures only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time

import httpx

from harness import VENV_BIN, Server, percentiles, print_header, scratch_database, scratch_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 tenants instead of 10")
    args = parser.parse_args()
    runs = 3 if args.quick else 10
    print_header("bench_onboarding: tenant create -> first successful API call", runs=runs)
    with scratch_dir("onboarding") as workdir, scratch_database("sqlite", workdir) as url:
        server = Server(database_url=url, data_dir=workdir / "data").start()
        try:
            totals: list[float] = []
            creates: list[float] = []
            for number in range(runs):
                started = time.perf_counter()
                created = subprocess.run(
                    [
                        str(VENV_BIN / "intelgraph"),
                        "tenant",
                        "create",
                        "--name",
                        f"Onboard {number}",
                        "--slug",
                        f"onboard-{number}",
                        "--json",
                    ],
                    env=server.env(),
                    capture_output=True,
                    check=True,
                )
                after_create = time.perf_counter()
                key = json.loads(created.stdout)["apiKey"]
                response = httpx.post(
                    f"{server.url}/graphql",
                    json={"query": '{ searchEntities(q: "a") { total } }'},
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=30,
                )
                response.raise_for_status()
                totals.append(time.perf_counter() - started)
                creates.append(after_create - started)
            p50, p95, _ = percentiles(totals)
            print(
                f"  command -> first successful call: p50 {p50 * 1000:.0f} ms, "
                f"p95 {p95 * 1000:.0f} ms, max {max(totals) * 1000:.0f} ms  [target < 2 s]"
            )
            c50, _, _ = percentiles(creates)
            print(f"  of which the CLI process (start-up + create): p50 {c50 * 1000:.0f} ms")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
