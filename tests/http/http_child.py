"""A child process for the HTTP limit tests: ``python -m tests.http.http_child NOFILE``.

Lowers its file-descriptor limit to NOFILE, serves ``/status`` on 127.0.0.1 (idle timeout
0.5 s), prints the port, then on each line from stdin answers one JSON line: ``cpu`` (its CPU
seconds over the next second) or ``files`` (whether it can still open 8 files).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

from mergetool._http import HttpServer, Request, Response, json_response


def route(request: Request) -> Response:
    return json_response({"path": request.path})


def main() -> None:
    nofile = int(sys.argv[1])
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
    server = HttpServer("127.0.0.1:0", route, idle_timeout_s=0.5).start()
    print(server.address[1], flush=True)
    for line in sys.stdin:
        if line.strip() == "cpu":
            before = os.times()
            time.sleep(1.0)
            after = os.times()
            used = after.user + after.system - before.user - before.system
            print(json.dumps({"cpu": used}), flush=True)
        elif line.strip() == "files":
            opened = []
            try:
                for _ in range(8):
                    opened.append(open(os.devnull, "rb"))  # noqa: SIM115 - held on purpose
                print(json.dumps({"files": True}), flush=True)
            except OSError as exc:
                print(json.dumps({"files": str(exc)}), flush=True)
            finally:
                for f in opened:
                    f.close()
    server.stop()


if __name__ == "__main__":
    main()
