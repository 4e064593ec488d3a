"""cahier's configuration: one settings object, one precedence (see :mod:`.settings`)."""

from tasks.config.settings import (
    LayerSpec,
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
    "LayerSpec",
    "LookSettings",
    "PolicySettings",
    "PrefectSettings",
    "Settings",
    "SignatureSettings",
    "WitnessSettings",
    "load_settings",
    "user_config_path",
]
