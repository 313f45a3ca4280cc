"""Started by bench_startup as a fresh process: shows the main window (or a bare PySide6 window)
and prints, once the event loop is idle with the window on screen, the wall-clock time and the
resident memory after one more second of idling."""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    mode, db = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QTabWidget

    app = QApplication(sys.argv[:1])
    if mode == "bare":
        win = QMainWindow()
        tabs = QTabWidget()
        tabs.addTab(QLabel("客户档案"), "客户档案")
        win.setCentralWidget(tabs)
        win.menuBar().addMenu("文件")
        win.statusBar().showMessage("用户")
        win.resize(1280, 800)
        win.show()
    else:
        # The program's own start: the log-in window at once, the database opening behind it;
        # then a log-in with no typing time at all (the worst case for the main window).
        from pathlib import Path

        from aftersales_desk.app import build_main_window, start_login

        login, loader = start_login(Path(db))

        def log_in() -> None:
            print(f"login {time.time():.6f}", flush=True)
            login.ed_user.setText("admin")
            login.ed_password.setText("demo1234")
            login.on_login()
            assert login.actor is not None, login.lbl_error.text()
            main, _warning = build_main_window(loader.result(), login.actor)
            names = main.tab_names()
            if names:
                main.show_tab(names[0])
            main.resize(1280, 800)
            main.show()
            state["win"] = main
            QTimer.singleShot(0, usable)

    state: dict = {}

    def usable() -> None:
        print(f"usable {time.time():.6f}", flush=True)
        QTimer.singleShot(1000, idle)

    def idle() -> None:
        print(f"rss {rss_mb():.1f}", flush=True)
        app.quit()

    QTimer.singleShot(0, usable if mode == "bare" else log_in)
    app.exec()


if __name__ == "__main__":
    main()
