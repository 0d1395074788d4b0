"""The domain's ports (`domain/ports.py`) over one SQLAlchemy AsyncConnection."""
