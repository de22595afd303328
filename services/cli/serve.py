"""`samhandling serve <component>`: one process, as Kubernetes runs it."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

from opentelemetry import metrics

from services.backend_lookup import backend
from services.cli.worker_supervisor import worker_index
from services.platform.logs import configure_logging
from services.platform.server import wait_for_signal
from services.platform.settings import BACKENDS, Settings
from services.platform.telemetry import exporter_names, make_meter_provider, make_tracer_provider

if TYPE_CHECKING:
    from gateway.main import Gateway
    from services.platform.server import GrpcServer

log = logging.getLogger(__name__)


async def serve(component: str, settings: Settings) -> None:
    configure_logging(component)
    if (index := worker_index()) is not None:
        _name_worker_in_logs(index)
    if component == "sts":
        await _serve_sts(settings)
        return
    provider = make_tracer_provider(component)
    # Global, so the instruments every module takes from the API's meter report through it; set
    # only when something exports: else every instrument stays the API's no-op, which costs a
    # call a quarter of what an SDK instrument without readers does (docs/observability.md).
    meters = make_meter_provider(component)
    if exporter_names(os.environ, "METRICS"):
        metrics.set_meter_provider(meters)
    server: Gateway | GrpcServer
    if component == "gateway":
        from gateway.main import create_gateway

        server = create_gateway(settings, provider)
    elif component in BACKENDS:
        server = backend(component).create_server(settings, provider)
    else:
        raise ValueError(f"unknown component {component!r}")
    await server.start()
    try:
        await wait_for_signal()
    finally:
        await server.stop(drain=settings.drain_seconds)  # NOT_SERVING first, still serving, then stop
        provider.shutdown()
        meters.shutdown()  # a last export of every metric


def _name_worker_in_logs(index: int) -> None:
    """Every log line of a supervised worker names it (services/cli/worker_supervisor.py)."""
    pid = os.getpid()

    def named(record: logging.LogRecord) -> bool:
        record.worker, record.pid = index, pid
        return True

    for handler in logging.getLogger().handlers:
        handler.addFilter(named)


async def _serve_sts(settings: Settings) -> None:
    from services.sts.config import StsConfig
    from services.sts.main import StsServer

    sts = StsServer(StsConfig.from_settings(settings))
    serving = asyncio.create_task(sts.serve())
    stop = asyncio.create_task(wait_for_signal())
    await asyncio.wait({serving, stop}, return_when=asyncio.FIRST_COMPLETED)
    sts.stop()
    await serving
    stop.cancel()
