"""The insurance log tab (保险出单): policies, the renewal pipeline, accident vehicles, engine-oil
sales and the manager's daily figures."""

from aftersales_desk.i18n import N_
from aftersales_desk.ui.tabs import TabSpec, register


def _factory(ctx):
    from aftersales_desk.ui.tabs.insurance.tab import InsuranceTab

    return InsuranceTab(ctx)


register(TabSpec("insurance", N_("Insurance log"), _factory, order=40))
