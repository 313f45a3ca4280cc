"""Bootstrap of the window: settings, open and upgrade the database, translator, fonts, log-in,
main window. Also the offscreen ``gui --screenshot`` of the command line."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aftersales_desk.errors import EXIT_OK, EXIT_USAGE, UsageError, UserError
from aftersales_desk.i18n import _, current_language, set_language

if TYPE_CHECKING:  # the ORM is imported in the background while the log-in window shows
    from aftersales_desk.data.uow import Database
    from aftersales_desk.domain.actor import Actor

_qt_translator = None


def _qapp():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setOrganizationName("aftersales-desk")
        app.setApplicationName("aftersales-desk")
        from PySide6.QtGui import QIcon

        from aftersales_desk.paths import resources_dir

        app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "aftersales-desk.svg")))
    return app


def apply_language(lang: str | None) -> str:
    """gettext for our messages and Qt's own ``qtbase`` catalogue for its stock dialogs."""
    global _qt_translator
    from PySide6.QtCore import QLibraryInfo, QTranslator

    lang = set_language(lang)
    app = _qapp()
    if _qt_translator is not None:
        app.removeTranslator(_qt_translator)
        _qt_translator = None
    if lang != "en":
        translator = QTranslator(app)
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if translator.load(f"qtbase_{lang}", folder):
            app.installTranslator(translator)
            _qt_translator = translator
    return lang


def apply_font(size: int = 10) -> str | None:
    """Use the CJK TrueType font for the whole window; returns a warning when none is found."""
    from PySide6.QtGui import QFont, QFontDatabase

    from aftersales_desk.reports.fonts import FontNotFound, find_cjk_font

    app = _qapp()
    try:
        choice = find_cjk_font()
    except FontNotFound as exc:
        font = app.font()
        font.setPointSize(size)
        app.setFont(font)
        return exc.message
    font_id = QFontDatabase.addApplicationFont(str(choice.path))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    font = QFont(families[0] if families else app.font().family(), size)
    app.setFont(font)
    return None


def _branch_language(db: Database, actor: Actor | None) -> tuple[str, str, int]:
    """(language, branch name, font size) for the window, from the user and the branch."""
    from aftersales_desk.services.auth import UserService
    from aftersales_desk.services.settings import SettingsService

    if actor is None:
        from aftersales_desk.services.bootstrap import local_actor

        actor = local_actor(db)
    settings = SettingsService(db, actor)
    values = settings.all()
    lang = (UserService(db, actor).own_language() if actor.user_id else None) or values["language"]
    return lang, settings.branch().name, int(values["ui_font_size"])


def build_main_window(db: Database, actor: Actor, *, lang: str | None = None):
    """The main window for ``actor`` in the user's (or ``lang``) language, with fonts applied."""
    from aftersales_desk.ui.context import AppContext
    from aftersales_desk.ui.main_window import MainWindow
    from aftersales_desk.ui.tasks import Ops

    user_lang, branch_name, font_size = _branch_language(db, actor)
    apply_language(lang or user_lang)
    warning = apply_font(font_size)
    ctx = AppContext(db=db, actor=actor, ops=Ops(_qapp()))
    window = MainWindow(ctx, branch_name=branch_name)
    if warning:
        window.statusBar().showMessage(warning)
    return window, warning


def screenshot(
    db_path: Path,
    *,
    tab: str | None,
    out: Path,
    size: tuple[int, int],
    username: str = "admin",
    lang: str | None = None,
) -> int:
    """Render the main window offscreen with ``tab`` shown and save it as a PNG."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from aftersales_desk.services.bootstrap import local_actor, open_database
    from aftersales_desk.ui.tabs import TAB_NAMES

    if tab is not None and tab not in TAB_NAMES:
        raise UsageError(
            _("Unknown tab {tab}; tabs: {tabs}").format(tab=tab, tabs=", ".join(TAB_NAMES))
        )
    db = open_database(db_path, write=False)
    try:
        app = _qapp()
        actor = local_actor(db, username)
        window, warning = build_main_window(db, actor, lang=lang)
        if warning:
            print(warning, file=sys.stderr)
        if tab is not None:
            if tab not in window.tab_names():
                raise UsageError(
                    _("The tab {tab} is not part of this version; available: {tabs}").format(
                        tab=tab, tabs=", ".join(window.tab_names()) or "-"
                    )
                )
            window.show_tab(tab)
        window.resize(*size)
        window.show()
        for _i in range(5):
            app.processEvents()
        window.ctx.ops.wait_idle()
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out), "PNG"):
            raise UsageError(_("Could not write {out}.").format(out=out))
        window.close()
        return EXIT_OK
    finally:
        db.dispose()


def _message(kind: str, title: str, text: str) -> None:
    from PySide6.QtWidgets import QMessageBox

    getattr(QMessageBox, kind)(None, title, text)


class DatabaseLoader:
    """Opens (and if need be upgrades) the database on a background thread, so the log-in window
    is usable at once; ``result()`` waits for it and re-raises what went wrong."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: Database | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="open-database", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            from aftersales_desk.services.bootstrap import open_database

            self._db = open_database(self.path, write=True)
        except BaseException as exc:  # handed to the UI thread by result()
            self._error = exc

    def result(self) -> Database:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._db is not None
        return self._db


def _create_first_database(path: Path) -> bool:
    """First start with no database: ask for the branch and create it (the window's ``init``)."""
    from aftersales_desk.services.bootstrap import initialize
    from aftersales_desk.ui.dialogs.setup import SetupDialog

    while True:
        dlg = SetupDialog(str(path))
        if not dlg.exec():
            return False
        try:
            initialize(path, **dlg.values).dispose()
            return True
        except UserError as exc:
            _message("warning", _("Cannot do that"), exc.message)


def start_login(path: Path, *, lang: str | None = None) -> tuple[Any, DatabaseLoader]:
    """Show the log-in window for ``path`` at once and start opening the database behind it."""
    from PySide6.QtCore import QSettings

    from aftersales_desk.data.peek import peek
    from aftersales_desk.ui.dialogs.login import LoginDialog

    _qapp()
    glance = peek(path)
    settings = glance.get("settings", {})
    apply_language(
        lang or str(QSettings().value("ui/language", "") or "") or settings.get("language")
    )
    apply_font(int(settings.get("ui_font_size", 10)))
    loader = DatabaseLoader(path)
    dialog = LoginDialog(loader.result, glance.get("branch_name") or path.stem)
    dialog.sig_language_changed.connect(lambda code: (apply_language(code), dialog.retitle()))
    dialog.show()
    return dialog, loader


def _warm_pdf_font_later(delay_s: float = 3.0) -> None:
    """Read the CJK font for PDFs on a background thread a moment after the window shows, so the
    day's first printed slip does not wait ~1 s for reportlab to parse the font (once per process)."""
    from aftersales_desk.reports.fonts import FontNotFound, register_pdf_font

    def warm() -> None:
        with contextlib.suppress(FontNotFound, OSError):  # printing says what is missing
            register_pdf_font()

    timer = threading.Timer(delay_s, warm)
    timer.daemon = True
    timer.start()


def run_gui(db_path: Path | None, *, tab: str | None = None, lang: str | None = None) -> int:
    """Open the window: database (created on first run), log-in, main window; returns the exit code."""
    from PySide6.QtCore import QSettings

    from aftersales_desk.paths import default_db_path

    app = _qapp()
    apply_language(lang or str(QSettings().value("ui/language", "") or "") or None)
    path = Path(db_path) if db_path else default_db_path()
    if not path.exists() and not _create_first_database(path):
        return EXIT_USAGE
    state: dict[str, Any] = {}

    def start_session() -> bool:
        if "db" in state:  # after a log-out: the next log-in opens it afresh
            state.pop("db").dispose()
        login, loader = start_login(path, lang=lang)
        login.exec()
        try:
            db = loader.result()
        except UserError as exc:
            _message("critical", _("Cannot open the database"), exc.message)
            state["exit"] = exc.exit_code
            return False
        state["db"] = db
        if login.actor is None:
            return False
        QSettings().setValue("ui/language", current_language())
        show_window(db, login.actor)
        return True

    def show_window(db: Database, actor: Actor, *, language: str | None = None) -> None:
        window, warning = build_main_window(db, actor, lang=language)
        window.sig_language_changed.connect(lambda code: relaunch(db, actor, code))
        window.sig_logout.connect(logout)
        window.resize(1280, 800)
        window.show()
        _warm_pdf_font_later()
        if warning:
            _message("warning", _("Chinese font missing"), warning)
        if tab and tab in window.tab_names():
            window.show_tab(tab)
        state["window"] = window

    def relaunch(db: Database, actor: Actor, code: str) -> None:
        old = state.get("window")
        QSettings().setValue("ui/language", code)
        show_window(db, actor, language=code)
        if old is not None:
            old.close()
            old.deleteLater()

    def logout() -> None:
        old = state.pop("window", None)
        if old is not None:
            old.hide()
            old.deleteLater()
        if not start_session():
            app.quit()

    code = app.exec() if start_session() else state.get("exit", EXIT_OK)
    if "db" in state:
        state["db"].dispose()
    return code
