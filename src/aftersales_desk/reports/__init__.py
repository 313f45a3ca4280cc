"""PDF (reportlab) and Excel (openpyxl) writers, fonts and templates. No Qt."""
