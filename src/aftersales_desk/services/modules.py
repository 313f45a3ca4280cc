"""Imports every module's services so that their registrations — ``ls`` kinds, ``demo`` fillers,
``check`` invariants — take effect. Each module issue adds its import here."""

import aftersales_desk.services.archive_registry
import aftersales_desk.services.callback_reports
import aftersales_desk.services.callbacks
import aftersales_desk.services.callbacks_demo
import aftersales_desk.services.counts_registry
import aftersales_desk.services.demo
import aftersales_desk.services.insurance
import aftersales_desk.services.insurance_callbacks
import aftersales_desk.services.insurance_demo
import aftersales_desk.services.insurance_registry
import aftersales_desk.services.insurance_reports
import aftersales_desk.services.integrity
import aftersales_desk.services.listing
import aftersales_desk.services.parts
import aftersales_desk.services.report_registry
import aftersales_desk.services.schedule
import aftersales_desk.services.service_clocks
import aftersales_desk.services.sync.numbers_registry
import aftersales_desk.services.sync.registry  # noqa: F401
