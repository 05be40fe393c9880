"""The service's settings: declared once in `vitalfile.settings` (with every other setting)."""

from vitalfile.settings import API_SETTINGS_HELP, ApiSettings

__all__ = ["API_SETTINGS_HELP", "ApiSettings"]
