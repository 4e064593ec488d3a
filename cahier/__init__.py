"""cahier command-line interface.

Start-up: pydantic's plugin discovery (an ``importlib.metadata`` scan of every installed
distribution for the ``pydantic`` entry point group, ~30 ms once per process, a tenth of
``cahier check``'s import floor) is turned off: cahier uses no pydantic plugin. Set
``PYDANTIC_DISABLE_PLUGINS=`` (empty) to turn the discovery back on.
"""

import os

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
