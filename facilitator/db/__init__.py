"""Storage: SQLAlchemy models and the ``Database`` that hands out transactions."""

from facilitator.db.database import Database
from facilitator.db.models import Base

__all__ = ["Base", "Database"]
