"""The ``/api/v1`` routers of the resources added for the public API, in the order app.py
includes them after the ones that existed before."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: tuple[APIRouter, ...] = ()
