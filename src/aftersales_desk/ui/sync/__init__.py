"""The window's side of sync: controller and status-bar button, connection settings, the
Conflicts and set-aside view."""
