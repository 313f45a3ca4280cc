"""The customer archive tab 客户档案."""

from aftersales_desk.i18n import N_
from aftersales_desk.ui.tabs import TabSpec, register


def _make(ctx):
    from aftersales_desk.ui.tabs.archive.tab import ArchiveTab

    return ArchiveTab(ctx)


register(TabSpec(name="archive", title=N_("Customer archive"), factory=_make, order=10))
