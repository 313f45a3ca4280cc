"""The callback queue tab (回访): the queue with the call dialog, quick-handling forms and the
branch's questionnaires; and the watcher that shows due calls and escalated forms in the status
bar."""

from aftersales_desk.i18n import N_
from aftersales_desk.ui.tabs import TabSpec, register


def _factory(ctx):
    from aftersales_desk.ui.tabs.callbacks.tab import CallbacksTab

    return CallbacksTab(ctx)


def _watch(ctx, window):
    from aftersales_desk.ui.tabs.callbacks.watch import CallbackWatcher

    return CallbackWatcher(ctx, window)


register(TabSpec("callbacks", N_("Callbacks"), _factory, order=30, watch=_watch))
