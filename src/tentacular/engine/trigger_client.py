"""POST to a workflow's ``/run`` from a trigger pod (CronJob, ``tntc run``): stdlib only.

``python -m tentacular.engine.trigger_client --url http://wf.ns.svc.cluster.local:8080/run
[--body JSON] [--timeout SECONDS]``

* Connecting is retried while the connection is refused, reset or times out: a new
  pod may not be in the NetworkPolicy allow-list yet (F-206) or the engine may still be
  starting. Once the request has been sent it is never repeated, so a workflow never
  runs twice because of a retry.
* The response body – the ExecutionResult – goes to stdout whatever the HTTP status
  (Q13); the exit code is 0 only for HTTP 200.

Exit codes: 0 success, 1 the workflow failed or answered non-200, 2 bad arguments,
3 the engine could not be reached.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
RETRYABLE = (ConnectionRefusedError, ConnectionResetError, TimeoutError, socket.gaierror)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tentacular.engine.trigger_client", description="Trigger one workflow run."
    )
    parser.add_argument("--url", required=True, help="The engine's /run URL.")
    parser.add_argument("--body", default="{}", help="JSON request body (default {}).")
    parser.add_argument("--timeout", type=float, default=900.0, help="Seconds to wait for the result.")
    parser.add_argument("--connect-timeout", type=float, default=5.0, help="Seconds per connection attempt.")
    parser.add_argument("--retries", type=int, default=10, help="Connection attempts after the first.")
    parser.add_argument("--retry-delay", type=float, default=1.0, help="Seconds between attempts.")
    return parser


def _connect(scheme: str, host: str, port: int | None, connect_timeout: float) -> http.client.HTTPConnection:
    connection_type = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    connection = connection_type(host, port, timeout=connect_timeout)
    connection.connect()
    return connection


def trigger(
    url: str,
    body: str,
    *,
    timeout: float = 900.0,
    connect_timeout: float = 5.0,
    retries: int = 10,
    retry_delay: float = 1.0,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> tuple[int, bytes]:
    """Return (HTTP status, body); raises OSError when no connection could be made."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    attempt = 0
    while True:
        try:
            connection = _connect(parts.scheme, parts.hostname, parts.port, connect_timeout)
            break
        except RETRYABLE as exc:
            if attempt >= retries:
                raise
            attempt += 1
            log(f"connect to {parts.hostname} failed ({type(exc).__name__}); retry {attempt}/{retries}")
            time.sleep(retry_delay)
    try:
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        payload = body.encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        connection.request("POST", path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        json.loads(args.body)
    except ValueError:
        print("--body must be JSON", file=sys.stderr)
        return EXIT_USAGE
    try:
        status, body = trigger(
            args.url,
            args.body,
            timeout=args.timeout,
            connect_timeout=args.connect_timeout,
            retries=max(args.retries, 0),
            retry_delay=args.retry_delay,
        )
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"cannot reach {args.url}: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    sys.stdout.write(body.decode("utf-8", errors="replace"))
    if body and not body.endswith(b"\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()
    if status != 200:
        print(f"workflow run answered HTTP {status}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
