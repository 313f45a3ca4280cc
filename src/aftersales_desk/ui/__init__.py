"""The only package that imports PySide6: views, Qt item models, controllers."""
