"""The tab modules of the main window. Each module registers a ``TabSpec`` in ``TABS`` (in
``ui/tabs/registry.py``'s imports) and is built the first time it is shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QWidget

from aftersales_desk.ui.context import AppContext

TAB_NAMES = ("archive", "parts", "callbacks", "insurance", "schedule")


@dataclass(frozen=True)
class TabSpec:
    name: str  # one of TAB_NAMES: the ``--tab`` of ``gui``
    title: str  # English msgid, translated when shown
    factory: Callable[[AppContext], QWidget]
    order: int = 0
    # started with the main window, before the tab is built: a background watcher (e.g. overdue
    # duties for the status bar); called with the context and the window, kept alive by it
    watch: Callable[[AppContext, QWidget], object] | None = None


TABS: dict[str, TabSpec] = {}


def register(spec: TabSpec) -> TabSpec:
    TABS[spec.name] = spec
    return spec


def available_tabs() -> list[TabSpec]:
    import aftersales_desk.ui.tabs.registry  # noqa: F401  (imports every tab module)

    return sorted(TABS.values(), key=lambda s: s.order)
