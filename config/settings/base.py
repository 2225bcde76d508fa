"""Settings shared by every profile, read from the environment.

The embedded default needs no variable at all: no DATABASE_URL means a SQLite file
in DATA_DIR, no REDIS_URL means Celery runs tasks eagerly in-process and the cache
is in local memory.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.money import CURRENCY_MINOR_UNITS

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env.smart_cast = False

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-embedded-default-only-never-in-production")
DEBUG = env.bool("DEBUG", default=False)
# The demo's known tokens and passwords (`demo-web-token`, admin/admin) exist only in the
# embedded default (local.py); elsewhere the demo makes random ones, the API and the admin
# refuse the known ones, and the server refuses to start while one is in the database
# (config.security).
DEMO_KNOWN_CREDENTIALS = False
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "treebeard",
]
LOCAL_APPS = [
    "config.apps.PlatformConfig",
    "catalog",
    "customers",
    "inventory",
    "invoicing",
    "orders",
    "support",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# Database: PostgreSQL in production through DATABASE_URL; a SQLite file otherwise.
# Connections are pooled (psycopg's pool) on PostgreSQL: opening one per request
# costs a third of the CPU at load.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})
    if env.bool("DB_POOL", default=True):
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {})
    # WAL and a busy timeout keep the embedded default usable with a worker beside it.
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL;")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: Celery broker and cache when REDIS_URL is set.
REDIS_URL: str = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="retail"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Django's sign-in, refusing the demo's public passwords outside the embedded default.
AUTHENTICATION_BACKENDS = ["config.security.KnownPasswordRefusingBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation: Spanish and English.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="es")
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
if LANGUAGE_CODE.split("-")[0] not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be one of {', '.join(dict(LANGUAGES))}, not {LANGUAGE_CODE!r}")
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Madrid")
USE_I18N = True
USE_TZ = True

# Money: one currency per installation, prices stored in it.
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="EUR").upper()
if DEFAULT_CURRENCY not in CURRENCY_MINOR_UNITS:
    raise ImproperlyConfigured(
        f"DEFAULT_CURRENCY must be one of {', '.join(CURRENCY_MINOR_UNITS)}, not {DEFAULT_CURRENCY!r}"
    )

# Inventory: days a transfer takes between two locations unless a lead time says otherwise.
TRANSFER_DEFAULT_LEAD_DAYS = env.int("TRANSFER_DEFAULT_LEAD_DAYS", default=1)

# Customers: phones written without a country code are read in this region.
CUSTOMER_DEFAULT_REGION = env.str("CUSTOMER_DEFAULT_REGION", default="ES").upper()
# Loyalty: points earned per whole unit of currency paid, and what a point is worth when spent.
LOYALTY_POINTS_PER_UNIT = env.int("LOYALTY_POINTS_PER_UNIT", default=1)
LOYALTY_POINT_VALUE = env.str("LOYALTY_POINT_VALUE", default="0.01")
# Points of an account with no activity for this many days expire (0: never).
LOYALTY_EXPIRY_DAYS = env.int("LOYALTY_EXPIRY_DAYS", default=730)
# Store credit staff may grant by hand at once (the amount, whatever its currency); above it only a superuser.
STORE_CREDIT_GRANT_MAX = Decimal(env.str("STORE_CREDIT_GRANT_MAX", default="500.00"))

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Django 6.1 mailers. The embedded default prints mail to the console.
# The embedded default writes mail to files under DATA_DIR/mail (invoices carry PDFs: no console dumps).
EMAIL_BACKEND_PATH = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH.endswith("filebased.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {"file_path": str(DATA_DIR / "mail")}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env.str("EMAIL_HOST", default="localhost"),
        "port": env.int("EMAIL_PORT", default=25),
        "username": env.str("EMAIL_HOST_USER", default=""),
        "password": env.str("EMAIL_HOST_PASSWORD", default=""),
        "use_tls": env.bool("EMAIL_USE_TLS", default=False),
        "timeout": env.int("EMAIL_TIMEOUT", default=30),
    }
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="tienda@example.com")

# Celery: eager in-process without Redis (the embedded default).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task unacknowledged this long is redelivered; longer than any task runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Worker processes recycle themselves: WeasyPrint and the schematron keep ~150-300 MB each.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_MAX_TASKS_PER_CHILD", default=500)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_MAX_MEMORY_PER_CHILD_KB", default=600_000)
CELERY_BEAT_SCHEDULE = {
    "sessions-clear-expired": {
        "task": "config.tasks.sessions_clear_expired",
        "schedule": 6 * 60 * 60,
    },
    "customers-duplicates-find": {"task": "customers.tasks.customer_duplicates_find", "schedule": 60 * 60},
    "customers-loyalty-expire": {"task": "customers.tasks.loyalty_expire_sweep", "schedule": 24 * 60 * 60},
    "inventory-stock-changes-dispatch": {"task": "inventory.tasks.stock_changes_dispatch", "schedule": 30},
    "inventory-low-stock-notify": {"task": "inventory.tasks.low_stock_alerts_notify", "schedule": 5 * 60},
    # Re-enqueues outbox messages (webhooks, e-mails, notifications, submissions) whose next attempt
    # is due: retries, and sends lost with a broker or a worker.
    "outbox-sweep": {"task": "config.tasks.outbox_sweep", "schedule": 60},
    # Documents not yet rendered (a lost task); their e-mails are outbox messages.
    "invoicing-sweep": {"task": "invoicing.tasks.invoices_sweep", "schedule": 60},
    # Unpaid orders past their payment deadline: cancelled, stock released.
    "orders-expire-unpaid": {"task": "orders.tasks.orders_expire_sweep", "schedule": 5 * 60},
    # Ready pickups: reminders before their hold ends, and holds ended (goods back, order refunded).
    "orders-holds": {"task": "orders.tasks.orders_holds_sweep", "schedule": 5 * 60},
    # Transfers received outside the orders screens (notifications are outbox messages).
    "orders-sweep": {"task": "orders.tasks.orders_sweep", "schedule": 60},
    # Idempotency keys past their retention (config.api.idempotency).
    "idempotent-requests-sweep": {"task": "config.tasks.idempotent_requests_sweep", "schedule": 60 * 60},
}

# The API's Idempotency-Key (config.api.idempotency): days a key answers its retries, and seconds
# a retry waits for the first request with its key before being told it is still in progress.
IDEMPOTENCY_KEY_RETENTION_DAYS = env.int("IDEMPOTENCY_KEY_RETENTION_DAYS", default=7)
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=10.0)
if IDEMPOTENCY_KEY_RETENTION_DAYS < 1 or IDEMPOTENCY_WAIT_SECONDS <= 0:
    raise ImproperlyConfigured(
        "IDEMPOTENCY_KEY_RETENTION_DAYS must be at least 1 and IDEMPOTENCY_WAIT_SECONDS positive."
    )

# The outbox (webhooks, e-mails, submissions: config.outbox): seconds a POST may take, the first
# retry's delay (doubling at each failure, at most 6 hours) and the attempts before a message
# becomes a dead letter (kinds with their own setting, such as INVOICE_EMAIL_MAX_ATTEMPTS, aside).
OUTBOUND_TIMEOUT_SECONDS = env.float("OUTBOUND_TIMEOUT_SECONDS", default=10.0)
OUTBOUND_BACKOFF_BASE_SECONDS = env.float("OUTBOUND_BACKOFF_BASE_SECONDS", default=30.0)
OUTBOUND_MAX_ATTEMPTS = env.int("OUTBOUND_MAX_ATTEMPTS", default=8)
# Days a sent (or undeliverable) message keeps its body and e-mail address, and a mail file its
# e-mail, before the outbox sweeper purges them (config/outbox/privacy.py). Dead letters are kept.
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=30)
if OUTBOX_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("OUTBOX_RETENTION_DAYS must be at least 1.")
if OUTBOUND_TIMEOUT_SECONDS <= 0 or OUTBOUND_BACKOFF_BASE_SECONDS < 0 or OUTBOUND_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured(
        "OUTBOUND_TIMEOUT_SECONDS must be positive, OUTBOUND_BACKOFF_BASE_SECONDS not negative "
        "and OUTBOUND_MAX_ATTEMPTS at least 1."
    )

# Invoicing. Structured formats by dotted path: a country format is added here, not in the core.
INVOICE_FORMATS = env.list(
    "INVOICE_FORMATS",
    default=["invoicing.formats.cii.FacturXCiiFormat", "invoicing.formats.ubl.PeppolUblFormat"],
)
# The tax agency's invoice verification service (VeriFactu QR code). The test environment
# is https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR.
VERIFACTU_QR_URL = env.str("VERIFACTU_QR_URL", default="https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR")
# Submitting billing records to the tax agency needs its online service and a certificate:
# a dotted path to a callable taking a BillingRecord, or empty (records wait as not submitted).
VERIFACTU_SUBMITTER = env.str("VERIFACTU_SUBMITTER", default="")
# Where issued documents are posted for the ERP (signed webhooks sent by the outbox); empty: none.
INVOICE_ERP_URL = env.str("INVOICE_ERP_URL", default="")
INVOICE_ERP_SECRET = env.str("INVOICE_ERP_SECRET", default="")
if INVOICE_ERP_URL and not INVOICE_ERP_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("INVOICE_ERP_URL must be an http:// or https:// URL.")
INVOICE_EMAIL_MAX_ATTEMPTS = env.int("INVOICE_EMAIL_MAX_ATTEMPTS", default=5)
# The most a simplified invoice (ticket) may be for, tax included, by the seller's country
# (invoicing/limits.py); above it the buyer's tax id is asked and a full invoice issued.
# Spain: 3,000 EUR for retail sales (RD 1619/2012, art. 4.1). A country without a row: no limit.
INVOICE_SIMPLIFIED_LIMITS = {"ES": {"amount": "3000.00", "currency": "EUR"}}
# The sweeper leaves a document issued less than this long ago to the task its issue enqueued.
INVOICE_SWEEP_GRACE_SECONDS = env.int("INVOICE_SWEEP_GRACE_SECONDS", default=120)
# Enqueue rendering and e-mail when the issuing transaction commits (off only in unit tests,
# where an eager PDF per issued document would dominate the run; the sweeper still finds them).
INVOICE_PROCESS_ON_COMMIT = env.bool("INVOICE_PROCESS_ON_COMMIT", default=True)

# API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.authentication.ChannelClientAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Each view declares what every operation needs (config/api/access.py); undeclared is refused.
    "DEFAULT_PERMISSION_CLASSES": ["config.api.access.ApiAccess"],
    # OPTIONS answers 405: what an operation accepts is in the OpenAPI schema, not in OPTIONS.
    "DEFAULT_METADATA_CLASS": None,
    # Proxies in front of the app that append to X-Forwarded-For (0: use the peer's address).
    # Throttles key on the address the last trusted proxy saw, never on what a client wrote.
    "NUM_PROXIES": env.int("API_TRUSTED_PROXIES", default=0),
    "DEFAULT_THROTTLE_CLASSES": ["config.api.throttling.ChannelClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "channel_client": env.str("API_THROTTLE_RATE", default="6000/min"),
        # Public order tracking, per address: enough for a customer, too few to guess second factors.
        "order_tracking": env.str("ORDER_TRACKING_THROTTLE_RATE", default="30/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AccessAutoSchema",
    "EXCEPTION_HANDLER": "config.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_VERSIONING_CLASS": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Omnichannel retail back-office API",
    "DESCRIPTION": (
        "One customer, one stock, one order book for every channel. "
        "Authenticate with `Authorization: Token <channel client token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One name per shared choice list, so every endpoint's schema reuses it.
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "config.channels.Channel",
        "ErrorCodeEnum": "config.exceptions.error_codes",
        "IdentityKindEnum": "customers.identities.IdentityKind",
        "EventKindEnum": "customers.models.EventKind",
        "ReportedEventKindEnum": "customers.models.REPORTED_EVENT_KIND_CHOICES",
        "LoyaltyEntryKindEnum": "customers.models.LoyaltyEntryKind",
        "PromotionKindEnum": "catalog.models.PromotionKind",
        "ConsentPurposeEnum": "customers.models.ConsentPurpose",
        "DocumentKindEnum": "invoicing.models.DocumentKind",
        "OrderStatusEnum": "orders.models.OrderStatus",
        "OrderEventEnum": "orders.models.OrderEvent",
        "ParcelStatusEnum": "orders.models.ParcelStatus",
    },
}

IMPORT_EXPORT_USE_TRANSACTIONS = True
# Importing changes the catalogue: it needs the change permission, as editing does.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_SKIP_ADMIN_LOG = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # WeasyPrint's font subsetting logs dozens of lines per PDF at INFO.
    "loggers": {
        "fontTools": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
        "factur-x": {"level": "WARNING"},
    },
}

# Orders. A pay-now order whose capture never comes releases its stock after this many minutes;
# a pay-at-pickup order not collected and paid this many days after it is ready is cancelled.
ORDER_PAYMENT_TIMEOUT_MINUTES = env.int("ORDER_PAYMENT_TIMEOUT_MINUTES", default=60)
ORDER_PAY_AT_PICKUP_DAYS = env.int("ORDER_PAY_AT_PICKUP_DAYS", default=3)
if ORDER_PAYMENT_TIMEOUT_MINUTES < 1 or ORDER_PAY_AT_PICKUP_DAYS < 1:
    raise ImproperlyConfigured("ORDER_PAYMENT_TIMEOUT_MINUTES and ORDER_PAY_AT_PICKUP_DAYS must be at least 1.")
ORDER_NOTIFICATION_MAX_ATTEMPTS = env.int("ORDER_NOTIFICATION_MAX_ATTEMPTS", default=5)
# Holds: how long a ready pickup waits for the customer, by the pickup point's location kind
# (inventory.LocationKind), in hours; then the goods go back to stock and the order is cancelled
# and refunded (orders.services.holds). The customer is reminded ORDER_HOLD_REMINDER_HOURS before.
# An unpaid pay-at-pickup order is held until its payment deadline (ORDER_PAY_AT_PICKUP_DAYS).
ORDER_HOLD_PERIODS: dict[str, timedelta] = {
    "store": timedelta(hours=env.int("ORDER_HOLD_STORE_HOURS", default=10 * 24)),
    "warehouse": timedelta(hours=env.int("ORDER_HOLD_WAREHOUSE_HOURS", default=10 * 24)),
    "locker": timedelta(hours=env.int("ORDER_HOLD_LOCKER_HOURS", default=72)),
}
ORDER_HOLD_REMINDER_BEFORE = timedelta(hours=env.int("ORDER_HOLD_REMINDER_HOURS", default=24))
if not timedelta(hours=1) <= ORDER_HOLD_REMINDER_BEFORE < min(ORDER_HOLD_PERIODS.values()):
    raise ImproperlyConfigured(
        "ORDER_HOLD_STORE_HOURS, ORDER_HOLD_WAREHOUSE_HOURS and ORDER_HOLD_LOCKER_HOURS must each be longer "
        "than ORDER_HOLD_REMINDER_HOURS, which must be at least 1."
    )
# The payment methods each channel may record. Tills take cash and cards; lockers take nothing.
_ONLINE = ["card", "paypal", "store_card", "store_credit", "loyalty_points"]
ORDER_PAYMENT_METHODS: dict[str, list[str]] = {
    "web": _ONLINE,
    "app": _ONLINE,
    "store": ["card", "store_card", "cash", "card_at_till", "store_credit", "loyalty_points"],
    "call_center": ["card", "store_card", "store_credit", "loyalty_points"],
    "social": ["card", "paypal"],
    "whatsapp": ["card", "paypal"],
    "marketplace": ["card", "paypal"],
    "email": [],
    "locker": [],
}
# Where the customer reads the tracking page and the QR links point (the shop's own site).
ORDER_TRACKING_URL = env.str("ORDER_TRACKING_URL", default="http://127.0.0.1:8000/api/v1/track/{number}/?token={token}")
