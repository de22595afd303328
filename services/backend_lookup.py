"""Finds a backend's declaration by component name (imported on demand, so a process
loads only the service it runs)."""

from __future__ import annotations

import importlib

from services.platform.backend_service import Backend


def backend(component: str) -> Backend:
    return importlib.import_module(f"services.{component}.main").BACKEND
