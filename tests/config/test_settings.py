"""Settings come from the environment: embedded default without it, services with it."""

import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from config.money import currency_exponent, money_round

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "k3y-" + "x9Qz!pL2#vR7" * 5,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/retail",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ALLOWED_HOSTS": "shop.example.com",
}


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter with only the given environment (settings load once per process)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "REDIS", "PYTEST"))}
    clean.pop("DEFAULT_CURRENCY", None)
    clean.pop("LANGUAGE_CODE", None)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def settings_values(env: dict[str, str], *expressions: str) -> list[Any]:
    """Evaluate expressions on django.conf.settings in a fresh process with this environment."""
    code = (
        "import json, django; from config.env import configure; configure(); django.setup(); "
        "from django.conf import settings; from config.money import currency_exponent; "
        f"print(json.dumps([{', '.join(expressions)}], default=str))"
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "REDIS", "PYTEST"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_embedded_default_uses_sqlite_eager_celery_and_euros(tmp_path: Path) -> None:
    engine, name, eager, cache, currency, language = settings_values(
        {"DATA_DIR": str(tmp_path)},
        "settings.DATABASES['default']['ENGINE']",
        "settings.DATABASES['default']['NAME']",
        "settings.CELERY_TASK_ALWAYS_EAGER",
        "settings.CACHES['default']['BACKEND']",
        "settings.DEFAULT_CURRENCY",
        "[code for code, _ in settings.LANGUAGES]",
    )
    assert engine == "django.db.backends.sqlite3"
    assert name == str(tmp_path / "db.sqlite3")
    assert eager is True
    assert cache.endswith("LocMemCache")
    assert currency == "EUR"
    assert language == ["es", "en"]


def test_services_come_from_the_environment(tmp_path: Path) -> None:
    engine, host, port, pooled, broker, eager, cache = settings_values(
        {
            "DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://shop:secret@db.internal:5433/retail",
            "REDIS_URL": "redis://cache.internal:6380/1",
        },
        "settings.DATABASES['default']['ENGINE']",
        "settings.DATABASES['default']['HOST']",
        "settings.DATABASES['default']['PORT']",
        "'pool' in settings.DATABASES['default']['OPTIONS']",
        "settings.CELERY_BROKER_URL",
        "settings.CELERY_TASK_ALWAYS_EAGER",
        "settings.CACHES['default']['LOCATION']",
    )
    assert engine == "django.db.backends.postgresql"
    assert (host, str(port)) == ("db.internal", "5433")
    assert pooled is True  # psycopg's pool: no connection opened per request
    assert broker == "redis://cache.internal:6380/1"
    assert eager is False
    assert cache == "redis://cache.internal:6380/1"


def test_celery_is_safe_against_lost_workers_and_speaks_only_json(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/0"}
    code = (
        "from config.celery import app; c = app.conf; "
        "print(c.task_acks_late, c.task_reject_on_worker_lost, c.task_serializer, sorted(c.accept_content), "
        "c.result_serializer, ','.join(sorted(c.beat_schedule)), c.broker_url)"
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "True",
        "json",
        "['json']",
        "json",
        "customers-duplicates-find,customers-loyalty-expire,idempotent-requests-sweep,inventory-low-stock-notify,"
        "inventory-stock-changes-dispatch,invoicing-sweep,orders-expire-unpaid,orders-holds,orders-sweep,outbox-sweep,"
        "sessions-clear-expired",
        "redis://127.0.0.1:6379/0",
    ]


@pytest.mark.parametrize(("currency", "decimals"), [("EUR", 2), ("USD", 2), ("MXN", 2), ("ARS", 2), ("CLP", 0)])
def test_supported_currencies_and_their_minor_units(currency: str, decimals: int) -> None:
    assert currency_exponent(currency) == decimals
    assert money_round(Decimal("1234.565"), currency) == Decimal("1234.565").quantize(
        Decimal(1).scaleb(-decimals), ROUND_HALF_UP
    )


def test_chilean_pesos_from_the_environment_have_no_minor_unit(tmp_path: Path) -> None:
    currency, exponent, time_zone, language = settings_values(
        {"DATA_DIR": str(tmp_path), "DEFAULT_CURRENCY": "clp", "TIME_ZONE": "America/Santiago", "LANGUAGE_CODE": "en"},
        "settings.DEFAULT_CURRENCY",
        "currency_exponent(settings.DEFAULT_CURRENCY)",
        "settings.TIME_ZONE",
        "settings.LANGUAGE_CODE",
    )
    assert (currency, exponent, time_zone, language) == ("CLP", 0, "America/Santiago", "en")


def test_unsupported_currency_stops_the_process(tmp_path: Path) -> None:
    result = run_python(
        "from config.env import configure; configure(); import django; django.setup()",
        {"DATA_DIR": str(tmp_path), "DEFAULT_CURRENCY": "GBP"},
    )
    assert result.returncode != 0
    assert "DEFAULT_CURRENCY" in result.stderr


def test_hold_periods_and_the_reminder_come_from_the_environment_in_hours(tmp_path: Path) -> None:
    store, locker, warehouse, reminder = settings_values(
        {
            "DATA_DIR": str(tmp_path),
            "ORDER_HOLD_STORE_HOURS": "120",
            "ORDER_HOLD_LOCKER_HOURS": "48",
            "ORDER_HOLD_REMINDER_HOURS": "12",
        },
        "settings.ORDER_HOLD_PERIODS['store'].total_seconds()",
        "settings.ORDER_HOLD_PERIODS['locker'].total_seconds()",
        "settings.ORDER_HOLD_PERIODS['warehouse'].total_seconds()",
        "settings.ORDER_HOLD_REMINDER_BEFORE.total_seconds()",
    )
    assert (store, locker, warehouse, reminder) == (120 * 3600, 48 * 3600, 240 * 3600, 12 * 3600)


@pytest.mark.parametrize(
    "env",
    [
        {"ORDER_HOLD_LOCKER_HOURS": "24", "ORDER_HOLD_REMINDER_HOURS": "24"},  # reminded when the hold starts
        {"ORDER_HOLD_STORE_HOURS": "0"},
        {"ORDER_HOLD_REMINDER_HOURS": "0"},
    ],
)
def test_a_hold_not_longer_than_its_reminder_stops_the_process(tmp_path: Path, env: dict[str, str]) -> None:
    result = run_python(
        "from config.env import configure; configure(); import django; django.setup()",
        {"DATA_DIR": str(tmp_path), **env},
    )
    assert result.returncode != 0
    assert "ORDER_HOLD_REMINDER_HOURS" in result.stderr


def test_production_check_deploy_reports_no_warning(db: Any) -> None:
    # The model checks ask PostgreSQL its version (GeneratedField): point at a database that exists.
    from django.db import connection

    database_url = f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}"
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV | {"DATABASE_URL": database_url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"])
def test_production_fails_naming_a_missing_variable(missing: str) -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


def test_unknown_django_env_is_refused() -> None:
    result = manage("check", env={"DJANGO_ENV": "staging"})
    assert result.returncode != 0
    assert "DJANGO_ENV='staging'" in result.stderr


def test_production_trusts_one_proxy_and_the_embedded_default_none(tmp_path: Path) -> None:
    assert settings_values(PRODUCTION_ENV, "settings.REST_FRAMEWORK['NUM_PROXIES']") == [1]
    assert settings_values(PRODUCTION_ENV | {"API_TRUSTED_PROXIES": "2"}, "settings.REST_FRAMEWORK['NUM_PROXIES']") == [
        2
    ]
    assert settings_values({"DATA_DIR": str(tmp_path)}, "settings.REST_FRAMEWORK['NUM_PROXIES']") == [0]
