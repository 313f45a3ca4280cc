"""The branch's connection to the central database, as the window uses it: the address (without
the password) and TLS mode in the branch settings, the password in the OS keyring, a "test
connection", and a quick reachability probe for automatic sync. No Qt.

Settings (``services/settings.py`` DEFAULTS): ``sync_url``, ``sync_sslmode``,
``sync_auto_minutes`` (0 = sync only by hand). Changing them needs ``EDIT_BRANCH_SETTINGS``
(manager, administrator).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.roles import Permission
from aftersales_desk.errors import UsageError, ValidationError
from aftersales_desk.i18n import _
from aftersales_desk.services.auth import require
from aftersales_desk.services.settings import SettingsService
from aftersales_desk.services.sync import client

SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
MAX_AUTO_MINUTES = 24 * 60
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class SyncSettings:
    url: str = ""
    sslmode: str = "prefer"
    auto_minutes: int = 0

    @property
    def configured(self) -> bool:
        return bool(self.url)

    def conninfo(self) -> str:
        """The address libpq is given: the stored URL with the chosen ``sslmode``."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self.url, sslmode=self.sslmode)


def load(db: Database, actor: Actor) -> SyncSettings:
    values = SettingsService(db, actor).all()
    try:
        minutes = int(values.get("sync_auto_minutes") or 0)
    except (TypeError, ValueError):
        minutes = 0
    sslmode = values.get("sync_sslmode") or "prefer"
    return SyncSettings(
        url=str(values.get("sync_url") or ""),
        sslmode=sslmode if sslmode in SSLMODES else "prefer",
        auto_minutes=max(0, minutes),
    )


def _parse(url: str) -> dict[str, Any]:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(url)
    except Exception as exc:
        raise ValidationError(
            _("The central database address is not valid: {reason}").format(
                reason=str(exc).strip().splitlines()[0] if str(exc).strip() else "-"
            ),
            field="url",
        ) from None


def check(url: str, sslmode: str, auto_minutes: int) -> SyncSettings:
    """Validated settings (ValidationError naming the field otherwise)."""
    url = url.strip()
    if url:
        info = _parse(url)
        if info.get("password"):
            raise ValidationError(
                _(
                    "Leave the password out of the address; type it in the password box "
                    "(it is kept in the system keyring)."
                ),
                field="url",
            )
        if info.get("sslmode"):
            raise ValidationError(
                _("Choose the TLS mode in the list, not in the address."), field="url"
            )
        if not info.get("host") and not info.get("hostaddr"):
            raise ValidationError(
                _("The address needs a server, e.g. postgresql://branch@server/aftersales."),
                field="url",
            )
    if sslmode not in SSLMODES:
        raise ValidationError(_("Unknown TLS mode: {mode}").format(mode=sslmode), field="sslmode")
    if not isinstance(auto_minutes, int) or not 0 <= auto_minutes <= MAX_AUTO_MINUTES:
        raise ValidationError(
            _("Automatic sync is every 0 to {n} minutes (0 = off).").format(n=MAX_AUTO_MINUTES),
            field="auto_minutes",
        )
    return SyncSettings(url, sslmode, auto_minutes)


def save(
    db: Database,
    actor: Actor,
    *,
    url: str,
    sslmode: str,
    auto_minutes: int,
    password: str | None = None,
) -> SyncSettings:
    """Store the connection settings for the branch; a password given goes to the OS keyring
    (never to a file or the database)."""
    require(actor, Permission.EDIT_BRANCH_SETTINGS)
    settings = check(url, sslmode, auto_minutes)
    if password:
        if not settings.configured:
            raise ValidationError(_("Enter the central database address first."), field="url")
        keep_password(settings, password)
    SettingsService(db, actor).update(
        {
            "sync_url": settings.url,
            "sync_sslmode": settings.sslmode,
            "sync_auto_minutes": settings.auto_minutes,
        }
    )
    return settings


def keep_password(settings: SyncSettings, password: str) -> None:
    try:
        client.store_password(settings.conninfo(), password)
    except Exception as exc:
        raise UsageError(
            _("The password could not be kept in the system keyring: {reason}").format(
                reason=str(exc).strip() or type(exc).__name__
            )
        ) from None


def has_password(settings: SyncSettings) -> bool:
    return bool(settings.configured and client.resolve_password(settings.conninfo(), None))


def test_connection(settings: SyncSettings, password: str | None = None) -> str:
    """Log in to central as the branch (typed password, else the keyring's) and name the
    branch it maps to; one translated line on failure."""
    from aftersales_desk.services.sync import central

    if not settings.configured:
        raise UsageError(_("Enter the central database address first."))
    url = settings.conninfo()
    conn = central.connect(url, password=client.resolve_password(url, password))
    try:
        with client.central_errors(), conn.cursor() as cur:
            branch = central.session_branch(cur)
            cur.execute("SELECT code, name FROM branches WHERE id = %s", (branch,))
            row = cur.fetchone()
    finally:
        conn.close()
    code, name = (str(row[0]), str(row[1] or "")) if row else (str(branch)[:8], "")
    label = code if not name or name == code else f"{code} {name}"
    return _("Connected: this login syncs branch {branch}.").format(branch=label)


def reachable(settings: SyncSettings, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """A quick "are we online" check: can a TCP connection to the server be opened? (No log-in,
    no query; the sync itself reports anything else.)"""
    if not settings.configured:
        return False
    info = _parse(settings.url)
    hosts = str(info.get("hostaddr") or info.get("host") or "").split(",")
    ports = str(info.get("port") or "5432").split(",")
    for i, host in enumerate(h.strip() for h in hosts):
        if not host:
            continue
        if host.startswith("/"):
            if os.path.exists(host):
                return True
            continue
        port = ports[i] if i < len(ports) else ports[-1]
        try:
            with socket.create_connection((host, int(port or 5432)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False
