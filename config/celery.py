"""The Celery app: configured from Django settings (CELERY_*), tasks found in every app."""

from celery import Celery

from config.env import configure

configure()

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
