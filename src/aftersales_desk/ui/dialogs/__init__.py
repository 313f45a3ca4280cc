"""Dialogs of the window shell: log-in, settings, users, audit log, about."""
