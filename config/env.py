"""Which settings module a process uses: DJANGO_ENV picks it (local by default)."""

import os

SETTINGS_BY_ENV = {
    "local": "config.settings.local",
    "test": "config.settings.test",
    "production": "config.settings.production",
}


def settings_module() -> str:
    env = os.environ.get("DJANGO_ENV", "local")
    try:
        return SETTINGS_BY_ENV[env]
    except KeyError:
        choices = ", ".join(SETTINGS_BY_ENV)
        raise SystemExit(f"DJANGO_ENV={env!r} is not one of: {choices}") from None


def configure() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module())
