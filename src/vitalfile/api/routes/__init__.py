"""One module per resource; `ROUTERS` lists them in the order the OpenAPI document shows."""

from fastapi import APIRouter

from vitalfile.api.routes import (
    activity,
    apikeys,
    cases,
    determinations,
    extracts,
    feeds,
    matches,
    me,
    nvss,
    ops,
    people,
    refusals,
    reports,
    requests,
    verify,
)

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    me.router,
    reports.router,
    activity.router,
    verify.router,
    matches.router,
    extracts.router,
    feeds.router,
    cases.router,
    determinations.router,
    requests.router,
    people.router,
    refusals.router,
    apikeys.router,
    ops.router,
    nvss.router,  # last: `/{jurisdiction}/…` must not shadow another route
]
