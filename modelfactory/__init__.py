"""ModelFactory: the Django project, its Celery app, and the fine-tuning app."""

from modelfactory.celery import app as celery_app

__all__ = ["celery_app"]
