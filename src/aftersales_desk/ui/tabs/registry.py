"""Imports every tab module so that it registers itself. Each module issue adds its import."""

import aftersales_desk.ui.tabs.archive
import aftersales_desk.ui.tabs.callbacks
import aftersales_desk.ui.tabs.insurance
import aftersales_desk.ui.tabs.parts
import aftersales_desk.ui.tabs.schedule  # noqa: F401
