"""The HTTP API: a FastAPI application over the library (`create_app(settings)`).

Routes are thin: they authenticate the caller, check its staff role (`access.require`) or
leave the recipient's rights to the disclosure gate inside the library call, and translate
errors into the one JSON shape. Nothing outside `api/` imports from it.
"""

from vitalfile.api.app import create_app
from vitalfile.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
