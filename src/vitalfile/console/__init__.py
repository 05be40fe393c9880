"""The case workers' web console: server-rendered pages (Jinja2) in the API's application.

Staff sign in with their key; a signed session cookie carries who they are, and every page
checks the same staff permissions as the API (`access.require`). Pages work without
JavaScript; a few lines of it only make forms quicker. No build step, nothing from a CDN.
"""

from vitalfile.console.pages import mount_console

__all__ = ["mount_console"]
