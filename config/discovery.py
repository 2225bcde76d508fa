"""Finding each project app's module of a given name, as Django's admin finds `admin` modules.

config names no domain app (DESIGN.md): the demo (`demo`) and the staff roles (`roles`) are
gathered from whichever apps have them, lowest layer first (INSTALLED_APPS order).
"""

from importlib import import_module
from types import ModuleType

from django.apps import apps
from django.conf import settings


def project_app_modules(name: str) -> list[ModuleType]:
    """Each project app's `<app>.<name>` module, in INSTALLED_APPS order; apps without one are skipped."""
    modules = []
    for app in apps.get_app_configs():
        if not (settings.BASE_DIR / app.name.replace(".", "/")).is_dir():
            continue  # a third-party app
        try:
            modules.append(import_module(f"{app.name}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{app.name}.{name}":
                raise
    return modules
