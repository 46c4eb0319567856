"""The communication context: notifications, templates, preferences, channels,
messaging and webhooks.

Other contexts reach it only through :mod:`hub.communication.api`.
"""
