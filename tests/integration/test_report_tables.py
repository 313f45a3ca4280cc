"""The shared table report writer: column widths fit the page, markup-like text is printed as
text, short cells stay plain strings (cheap to lay out) and long ones wrap."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from aftersales_desk.reports.tables import TableReport, column_widths, write_table


def test_narrow_columns_keep_their_width_and_wide_ones_share_the_rest():
    texts = [["a", "b" * 400, "c" * 300]]
    widths = column_widths(texts, "Helvetica", 8, 500)
    assert widths[0] < 20
    assert widths[1] == pytest.approx(widths[2])
    assert sum(widths) == pytest.approx(500)


def test_spare_width_is_shared_so_the_table_fills_the_page():
    widths = column_widths([["a", "bb"]], "Helvetica", 8, 300)
    assert sum(widths) == pytest.approx(300)


def test_text_that_looks_like_markup_is_printed_as_written(tmp_path: Path):
    name = "机滤 <长寿命> & 5W-30 " * 12  # long enough to wrap in its column
    report = TableReport(
        title="配件 <清单> & co",
        columns=["配件号", "名称", "金额"],
        rows=[["BP000001", name, 123456], ["BP000002", "短", 5]],
        money_cols={2},
    )
    out = tmp_path / "t.pdf"
    write_table(report, out)
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "配件 <清单> & co" in text
    assert "<长寿命> & 5W-30" in text
    assert "1,234.56" in text


def test_reportlab_runs_with_its_c_speedups():
    """rl_accel (a dependency) halves a slip's render time; without it reportlab silently falls
    back to pure Python."""
    from reportlab.lib import rl_accel

    assert rl_accel.fp_str.__module__ == "_rl_accel"
    assert rl_accel.asciiBase85Encode.__module__ == "_rl_accel"


def test_the_window_loads_the_pdf_font_in_the_background(monkeypatch):
    """The first slip of the day must not wait for reportlab to parse the CJK font."""
    import threading

    from aftersales_desk import app
    from aftersales_desk.reports import fonts

    loaded = threading.Event()
    monkeypatch.setattr(fonts, "register_pdf_font", loaded.set)
    app._warm_pdf_font_later(0.01)
    assert loaded.wait(5)
