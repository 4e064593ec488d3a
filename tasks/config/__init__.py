"""cahier's configuration: one settings object, one precedence (see :mod:`.settings`)."""

from tasks.config.settings import (
    LookSettings,
    PolicySettings,
    PrefectSettings,
    Settings,
    SignatureSettings,
    WitnessSettings,
    load_settings,
    user_config_path,
)

__all__ = [
    "LookSettings",
    "PolicySettings",
    "PrefectSettings",
    "Settings",
    "SignatureSettings",
    "WitnessSettings",
    "load_settings",
    "user_config_path",
]
