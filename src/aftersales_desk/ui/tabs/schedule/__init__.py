"""The daily schedule tab (日常工作): today's agenda with check-off, the branch's duties, its working
calendar; and the watcher that shows overdue duties in the status bar and the tray."""

from aftersales_desk.i18n import N_
from aftersales_desk.ui.tabs import TabSpec, register


def _factory(ctx):
    from aftersales_desk.ui.tabs.schedule.tab import ScheduleTab

    return ScheduleTab(ctx)


def _watch(ctx, window):
    from aftersales_desk.ui.tabs.schedule.watch import OverdueWatcher

    return OverdueWatcher(ctx, window)


register(TabSpec("schedule", N_("Daily schedule"), _factory, order=50, watch=_watch))
