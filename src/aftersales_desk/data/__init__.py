"""SQLAlchemy data layer: declarative base, models, engine, unit of work, migrations, backup."""
