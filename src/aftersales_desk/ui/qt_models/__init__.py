"""Qt item models that adapt services' pages to views."""
