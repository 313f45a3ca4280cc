"""Imports every tab module so that it registers itself. Each module issue adds its import."""
