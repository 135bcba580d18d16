"""Sending one delivery attempt: webhook (signed), email, Apprise, or the printer's pause hook (signed)."""

import hashlib
import hmac
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from apps.alerts.apprise_targets import apprise_send, apprise_url_errors
from apps.alerts.messages import alert_email, alert_message
from apps.alerts.models import Delivery, DeliveryAttempt

SIGNATURE_HEADER = "X-Layerwatch-Signature"
TIMESTAMP_HEADER = "X-Layerwatch-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# A 4xx other than these means the receiver rejects the payload: retrying cannot help.
_RETRYABLE_4XX = {408, 425, 429}


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    retryable: bool = True
    response_code: int | None = None
    error: str = ""


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>"; the timestamp lets receivers refuse old replays."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _http_post(*, url: str, payload: dict, key: str, secret: str = "") -> AttemptResult:
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        IDEMPOTENCY_HEADER: key,
        TIMESTAMP_HEADER: timestamp,
    }
    if secret:
        headers[SIGNATURE_HEADER] = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    try:
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=settings.LAYERWATCH_ALERT_HTTP_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return AttemptResult(ok=False, error=f"{type(error).__name__}: {error}"[:2000])
    code = response.status_code
    if 200 <= code < 300:
        return AttemptResult(ok=True, response_code=code)
    retryable = code >= 500 or code in _RETRYABLE_4XX
    return AttemptResult(ok=False, retryable=retryable, response_code=code, error=response.text[:500])


def _recipients(channel) -> list[str]:
    return [a.strip() for a in channel.recipients.replace("\n", ",").split(",") if a.strip()]


def _email_send(*, delivery: Delivery) -> AttemptResult:
    recipients = _recipients(delivery.channel)
    if not recipients:
        return AttemptResult(ok=False, retryable=False, error="The channel has no recipients.")
    message = alert_message(payload=delivery.payload)
    # The same Message-ID on every attempt lets a mail client drop a duplicate of a retried send.
    headers = {"Message-ID": f"<{delivery.idempotency_key}@layerwatch>"}
    email = alert_email(message=message, sender=settings.DEFAULT_FROM_EMAIL, recipients=recipients, headers=headers)
    try:
        email.send()
    except Exception as error:  # SMTP errors are many and varied; all are worth a retry
        return AttemptResult(ok=False, error=f"{type(error).__name__}: {error}"[:2000])
    return AttemptResult(ok=True)


def _apprise_send(*, delivery: Delivery) -> AttemptResult:
    urls = delivery.channel.apprise_urls
    problem = apprise_url_errors(urls)
    if problem:
        return AttemptResult(ok=False, retryable=False, error=problem)
    message = alert_message(payload=delivery.payload)
    attachment = None
    if message.thumbnail:
        attachment = _thumbnail_file(message.thumbnail)
    try:
        ok, error = apprise_send(
            urls=urls,
            title=message.subject.removeprefix("[layerwatch] "),
            body=message.markdown,
            attachment=attachment,
        )
    finally:
        if attachment:
            os.unlink(attachment)
    return AttemptResult(ok=ok, error=error)


def _thumbnail_file(data: bytes) -> str:
    """Apprise attaches files by path: the heatmap thumbnail goes to a temporary file."""
    with tempfile.NamedTemporaryFile(prefix="layerwatch-heatmap-", suffix=".png", delete=False) as handle:
        handle.write(data)
    return handle.name


def pause_secret(machine) -> str:
    return machine.pause_secret or settings.LAYERWATCH_PAUSE_HOOK_SECRET


def _send(delivery: Delivery) -> AttemptResult:
    key = str(delivery.idempotency_key)
    if delivery.kind == Delivery.Kind.PAUSE:
        url = delivery.machine.pause_url
        if not url:
            return AttemptResult(ok=False, retryable=False, error="The machine has no pause URL.")
        return _http_post(url=url, payload=delivery.payload, key=key, secret=pause_secret(delivery.machine))
    if delivery.channel is None:
        return AttemptResult(ok=False, retryable=False, error="The channel was deleted.")
    if delivery.kind == Delivery.Kind.EMAIL:
        return _email_send(delivery=delivery)
    if delivery.kind == Delivery.Kind.APPRISE:
        return _apprise_send(delivery=delivery)
    return _http_post(url=delivery.channel.url, payload=delivery.payload, key=key, secret=delivery.channel.secret)


def delivery_backoff(*, attempts: int) -> float:
    return settings.LAYERWATCH_ALERT_BACKOFF_SECONDS * 2 ** (attempts - 1)


def delivery_attempt(*, delivery_id: int) -> float | None:
    """Makes one attempt. Returns the seconds to wait before the next one, or None when done.

    The delivery is claimed with a conditional UPDATE, so a redelivered task never sends a
    delivery that is sent or in flight. A claim older than a few timeouts died with its worker.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=4 * settings.LAYERWATCH_ALERT_HTTP_TIMEOUT + 30)
    claimable = Q(status=Delivery.Status.PENDING) | Q(status=Delivery.Status.SENDING, claimed_at__lt=stale)
    claimed = Delivery.objects.filter(claimable, pk=delivery_id).update(
        status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("channel", "machine").get(pk=delivery_id)
    started = time.monotonic()
    result = _send(delivery)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        ok=result.ok,
        response_code=result.response_code,
        error=result.error,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    if result.ok:
        status, wait = Delivery.Status.SENT, None
    elif result.retryable and delivery.attempts < settings.LAYERWATCH_ALERT_MAX_ATTEMPTS:
        status, wait = Delivery.Status.PENDING, delivery_backoff(attempts=delivery.attempts)
    else:
        status, wait = Delivery.Status.FAILED, None
    Delivery.objects.filter(pk=delivery.pk).update(status=status, sent_at=timezone.now() if result.ok else None)
    return wait
