"""Messenger channels: provider adapters (one module each), the shared HTTP client, and the
registry that knows each channel's identity kind, direction lookup, webhook and sender."""
