"""The replica bench's h2load helpers and report: the gRPC body, the command, the parse of h2load's
output and the check that refuses runs with failed calls (no servers, no timings asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import load_h2
from bench.cluster_reads import Cell, ClusterReads, combine, render
from samhandling.summary.v1 import summary_pb2
from tests.fixtures import people

# Real h2load 1.52 output (abridged to the lines parsed), from a run against the cluster.
SUMMARY = """\
finished in 2.14s, 29.88 req/s, 26.92KB/s
requests: 64 total, 64 started, 64 done, 64 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 64 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 57.66KB (59044) total, 4.06KB (4160) headers (space savings 19.75%), 48.75KB (49920) data
"""
# The same balancer with a token it refuses: every call a gRPC error, every one "succeeded".
REFUSED = """\
finished in 1.00s, 42.00 req/s, 12.73KB/s
requests: 42 total, 43 started, 42 done, 42 succeeded, 0 failed, 0 errored, 0 timeout
traffic: 12.73KB (13034) total, 11.24KB (11508) headers (space savings 3.18%), 0B (0) data
"""
ANSWER = 775  # bytes of one GetPatientSummary answer in that run (49920 / 64 - 5)


def test_grpc_frame_is_the_length_prefixed_message() -> None:
    message = summary_pb2.GetPatientSummaryRequest(patient_id=people.ESKIL).SerializeToString()
    frame = load_h2.grpc_frame(message)
    assert frame[0] == 0 and int.from_bytes(frame[1:5], "big") == len(message) and frame[5:] == message
    assert summary_pb2.GetPatientSummaryRequest.FromString(frame[5:]).patient_id == people.ESKIL


@pytest.mark.parametrize(("in_flight", "expected"), [(1, (1, 1)), (8, (1, 8)), (32, (4, 8)), (10, (2, 5)), (9, (3, 3))])
def test_connections_times_streams_is_the_number_in_flight(in_flight: int, expected: tuple[int, int]) -> None:
    assert load_h2.connections_and_streams(in_flight) == expected
    with pytest.raises(ValueError):
        load_h2.connections_and_streams(0)


def test_command_sends_grpc_headers_and_the_body(tmp_path: Path) -> None:
    args = load_h2.command("h2load", "http://lb/x", tmp_path / "b", "Bearer t", 32, 500, tmp_path / "log")
    assert args[args.index("-c") + 1] == "4" and args[args.index("-m") + 1] == "8"
    assert args[args.index("-n") + 1] == "500" and args[args.index("-d") + 1] == str(tmp_path / "b")
    headers = {args[i + 1] for i, a in enumerate(args) if a == "-H"}
    assert headers == {"content-type: application/grpc", "te: trailers", "authorization: Bearer t"}
    assert f"--log-file={tmp_path / 'log'}" in args and args[-1] == "http://lb/x"


def test_requests_for_is_bounded_both_ways() -> None:
    assert load_h2.requests_for(4.0, 50.0, 1) == 200
    assert load_h2.requests_for(4.0, 5.0, 32) == 128  # at least four rounds of those in flight
    assert load_h2.requests_for(4.0, 1e9, 1, most=1000) == 1000


def test_parse_summary_and_log() -> None:
    summary = load_h2.parse_summary(SUMMARY)
    assert summary == load_h2.Summary(per_second=29.88, done=64, succeeded=64, data_bytes=49920)
    assert load_h2.parse_log("1796420064018478\t200\t479505\n1796420064498082\t-1\t82305\n\n") == [
        (200, 479505),
        (-1, 82305),
    ]
    with pytest.raises(ValueError):
        load_h2.parse_summary("connect failed")


def test_check_accepts_a_run_of_full_answers() -> None:
    load_h2.check(load_h2.parse_summary(SUMMARY), [(200, 1000)] * 64, ANSWER)


def test_check_refuses_grpc_errors_that_h2load_counts_as_succeeded() -> None:
    refused = load_h2.parse_summary(REFUSED)
    with pytest.raises(RuntimeError, match="gRPC errors"):
        load_h2.check(refused, [(200, 1000)] * 42, ANSWER)
    one_error = load_h2.Summary(29.88, 64, 64, 49920 - (ANSWER + 5))  # one call of 64 without its answer
    with pytest.raises(RuntimeError, match="gRPC errors"):
        load_h2.check(one_error, [(200, 1000)] * 64, ANSWER)


def test_check_refuses_failed_streams_and_missing_requests() -> None:
    summary = load_h2.parse_summary(SUMMARY)
    with pytest.raises(RuntimeError, match="not HTTP 200"):
        load_h2.check(summary, [(200, 1000)] * 63 + [(-1, 5)], ANSWER)
    with pytest.raises(RuntimeError, match="63 logged"):
        load_h2.check(summary, [(200, 1000)] * 63, ANSWER)
    with pytest.raises(RuntimeError):
        load_h2.check(load_h2.Summary(0.0, 0, 0, 0), [], ANSWER)


def test_cells_combine_and_percentiles_are_nearest_rank() -> None:
    cell = combine([Cell(2, 1.0, [1000, 4000], 0.5), Cell(2, 1.0, [2000, 3000], 0.25)])
    assert (cell.requests, cell.seconds, cell.per_second, cell.cpu_seconds) == (4, 2.0, 2.0, 0.75)
    assert cell.percentile(0.5) == 2_000_000 and cell.percentile(0.99) == 4_000_000
    assert Cell(1, 1.0, [7]).percentile(0.5) == 7000


def test_render_compares_two_replicas_with_one_at_each_level() -> None:
    bench = ClusterReads(
        4.0,
        2,
        {
            1: {1: Cell(100, 2.0, [10_000] * 100, 1.0), 2: Cell(100, 2.5, [12_000] * 100, 1.5)},
            32: {1: Cell(400, 4.0, [300_000] * 400, 4.0), 2: Cell(600, 4.0, [200_000] * 400, 6.0)},
        },
    )
    text = "\n".join(render(bench))
    assert "| 1 | 2 | 100 | 40 | 0.80× | 12.00 | 12.00 | 1.20× | 1.20× | 0.60 | 15.0 |" in text
    assert "| 32 | 2 | 600 | 150 | 1.50× | 200.00 | 200.00 | 0.67× | 0.67× | 1.50 | 10.0 |" in text
