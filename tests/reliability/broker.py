"""Pointing this test process's Celery app at another broker."""

from contextlib import contextmanager

from celery import current_app


@contextmanager
def broker_at(url: str):
    """Points this process's Celery app (its sending and its reading) at another broker."""
    saved = current_app.conf.broker_write_url, current_app.conf.broker_read_url
    current_app.conf.broker_write_url = current_app.conf.broker_read_url = url
    current_app.amqp._producer_pool = None
    try:
        yield
    finally:
        current_app.conf.broker_write_url, current_app.conf.broker_read_url = saved
        current_app.amqp._producer_pool = None
