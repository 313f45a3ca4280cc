"""Imports every tab module so that it registers itself. Each module issue adds its import."""

import aftersales_desk.ui.tabs.archive  # noqa: F401
import aftersales_desk.ui.tabs.schedule  # noqa: F401
