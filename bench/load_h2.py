"""gRPC load from Debian's `h2load` (nghttp2-client), and what its output says: pure helpers
(the command line, the gRPC body, the parse of its summary and per-request log), no I/O.

h2load speaks HTTP/2 and knows nothing of gRPC: it sends one fixed body (`-d`) with the headers
given, and counts a request as succeeded on an HTTP status of 2xx. A gRPC error travels with
status 200, in the trailers (`grpc-status`), which h2load does not read. What still tells a
failed call from a good one: a gRPC error is trailers only, without a message, so it carries no
DATA bytes, while every good GetPatientSummary answer carries its whole message. `check` therefore
requires every request to be done with status 200 and the DATA bytes received to be at least one
full answer per request (the smallest answer seen in real calls checked beside the load).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

GRPC_HEADERS = ("content-type: application/grpc", "te: trailers")
FRAME_PREFIX = 5  # gRPC length-prefixed message: 1 byte compression flag, 4 bytes length


def grpc_frame(message: bytes) -> bytes:
    """One uncompressed gRPC message as it travels in DATA frames."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def connections_and_streams(in_flight: int, max_streams: int = 8) -> tuple[int, int]:
    """(clients, streams per client) giving `in_flight` requests at once: few connections with many
    streams each, as gRPC clients multiplex, at most `max_streams` streams per connection."""
    if in_flight < 1:
        raise ValueError("at least one request in flight")
    clients = math.ceil(in_flight / max_streams)
    while in_flight % clients:
        clients += 1
    return clients, in_flight // clients


def command(
    h2load: str, url: str, body: Path, authorization: str, in_flight: int, requests: int, log_file: Path
) -> list[str]:
    """h2load on one thread, `requests` requests, `in_flight` of them at once. A fixed count
    rather than h2load's --duration: a timed run counts only the requests done within it, so the
    `in_flight` ones still running at its end are lost, which at a second per request under load
    halves the rate. h2load appends to `log_file`: give it a fresh one."""
    clients, streams = connections_and_streams(in_flight)
    return [
        h2load,
        "-t",
        "1",
        "-c",
        str(clients),
        "-m",
        str(streams),
        "-n",
        str(requests),
        "-d",
        str(body),
        *(arg for header in (*GRPC_HEADERS, f"authorization: {authorization}") for arg in ("-H", header)),
        f"--log-file={log_file}",
        url,
    ]


def requests_for(seconds: float, per_second: float, in_flight: int, most: int = 100_000) -> int:
    """How many requests take about `seconds` at `per_second` (measured just before): at least four
    rounds of `in_flight`, so the ramp up and the drain at the end weigh little; at most `most`."""
    return max(4 * in_flight, min(most, math.ceil(seconds * per_second)))


@dataclass(frozen=True)
class Summary:
    """h2load's own totals of the measured period (after warm-up)."""

    per_second: float  # h2load's requests/s: done over the time from the first request to the last answer
    done: int
    succeeded: int  # HTTP 2xx
    data_bytes: int  # DATA payload received


_FINISHED = re.compile(r"finished in [\d.]+m?s, ([\d.]+) req/s")
_REQUESTS = re.compile(r"requests: .*?(\d+) done, (\d+) succeeded")
_DATA = re.compile(r"traffic: .*\((\d+)\) data")


def parse_summary(output: str) -> Summary:
    finished, requests, data = _FINISHED.search(output), _REQUESTS.search(output), _DATA.search(output)
    if finished is None or requests is None or data is None:
        raise ValueError(f"not an h2load summary:\n{output}")
    return Summary(float(finished.group(1)), int(requests.group(1)), int(requests.group(2)), int(data.group(1)))


def parse_log(text: str) -> list[tuple[int, int]]:
    """(HTTP status, µs until the end of the response) of every logged request; -1 is a failed stream."""
    rows = []
    for line in text.splitlines():
        if line.strip():
            _start, status, duration, *_more = line.split("\t")
            rows.append((int(status), int(duration)))
    return rows


def check(summary: Summary, logged: Sequence[tuple[int, int]], smallest_answer: int) -> None:
    """Refuses a run with a failed request, or with fewer DATA bytes than one full answer
    (`smallest_answer` bytes of message) per request: some calls then came back as gRPC errors."""
    failed = sum(1 for status, _ in logged if status != 200)
    if not summary.done or failed or summary.succeeded != summary.done or len(logged) < summary.done:
        raise RuntimeError(
            f"h2load: {summary.done} done, {summary.succeeded} succeeded, {len(logged)} logged, {failed} not HTTP 200"
        )
    if summary.data_bytes < summary.done * (FRAME_PREFIX + smallest_answer):
        raise RuntimeError(
            f"h2load: {summary.data_bytes} DATA bytes for {summary.done} requests of at least "
            f"{FRAME_PREFIX + smallest_answer}: some calls failed (gRPC errors carry no message)"
        )
