"""The page for the person on the file (placeholder until the access codes land)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates

from vitalfile.settings import ApiSettings

__all__ = ["mount_person_pages"]


def mount_person_pages(app: FastAPI, settings: ApiSettings, templates: Jinja2Templates) -> None:
    return None
