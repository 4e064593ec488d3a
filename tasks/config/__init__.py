"""cahier's configuration: one settings object, one precedence (see :mod:`.settings`)."""

from tasks.config import settings as _settings
from tasks.config.settings import *  # noqa: F403  (the public API is settings.__all__)

__all__ = list(_settings.__all__)
