"""The only package that imports PySide6: views, Qt item models, controllers."""

from aftersales_desk.ui import pyside_guard  # noqa: F401  (PySide6 6.12 refcount bug, see there)
