"""aftersales-desk: the desktop program of an after-sales branch office."""

__version__ = "0.1.0"
APP_NAME = "aftersales-desk"
