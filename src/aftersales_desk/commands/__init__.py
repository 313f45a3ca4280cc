"""Each module's headless commands, registered on ``cli.COMMANDS`` with ``cli.command``.
``COMMAND_MODULES`` lists them; a module issue appends its module here."""

COMMAND_MODULES: list[str] = [
    "aftersales_desk.commands.transfer",
    "aftersales_desk.commands.archive",
    "aftersales_desk.commands.parts",
    "aftersales_desk.commands.schedule",
    "aftersales_desk.commands.counts",
    "aftersales_desk.commands.callbacks",
    "aftersales_desk.commands.insurance",
    "aftersales_desk.commands.sync",
]
