"""Talk to a running local stack: fire a scheduled function now, or move its clock.

python -m infra.control sweep sla_sweep            # make sweep NAME=sla_sweep
python -m infra.control clock 2026-12-01T10:00:00Z # make clock NOW=2026-12-01T10:00:00Z
python -m infra.control clock                      # back to real time
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request


def post(path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    port = os.environ.get("LOCAL_PORT", "3000")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body or {}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer: dict[str, object] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{error.code}: {error.read().decode()}") from None
    except urllib.error.URLError as error:
        raise SystemExit(
            f"no local stack on port {port} ({error.reason}): start `make run`"
        ) from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sweep = commands.add_parser("sweep", help="run a scheduled function now")
    sweep.add_argument("name", help="sla_sweep, missed_call_sweep, outbox_sweep")
    clock = commands.add_parser("clock", help="set the stack's clock (no value: real time)")
    clock.add_argument("now", nargs="?", help="an ISO-8601 UTC instant, e.g. 2026-12-01T10:00:00Z")
    arguments = parser.parse_args(argv)
    if arguments.command == "sweep":
        answer = post(f"/_local/sweeps/{arguments.name}")
    else:
        answer = post("/_local/clock", {"now": arguments.now})
    json.dump(answer, sys.stdout, ensure_ascii=False, indent=2)
    print()


if __name__ == "__main__":
    main()
