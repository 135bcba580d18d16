"""Chat and push notifications (Slack, Teams, ntfy, …) through Apprise URLs."""

import apprise


def apprise_urls_split(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def apprise_url_errors(text: str) -> str:
    """A message naming the URLs Apprise cannot use, or "" when all are usable."""
    urls = apprise_urls_split(text)
    if not urls:
        return "Give at least one Apprise URL."
    bad = [url.split("://")[0] + "://…" for url in urls if not apprise.Apprise().add(url)]
    return f"Apprise cannot use: {', '.join(bad)}" if bad else ""


def apprise_send(*, urls: str, title: str, body: str, attachment: str | None = None) -> tuple[bool, str]:
    """Notifies every target: (all sent, what went wrong). A failed target fails the whole attempt."""
    targets = apprise.Apprise()
    if not targets.add(apprise_urls_split(urls)):
        return False, apprise_url_errors(urls) or "No usable Apprise URL."
    with apprise.LogCapture(level=apprise.logging.WARNING) as log:
        ok = targets.notify(
            title=title,
            body=body,
            body_format=apprise.NotifyFormat.MARKDOWN,
            attach=apprise.AppriseAttachment(attachment) if attachment else None,
        )
        detail = log.getvalue().strip()
    ok = bool(ok)  # an AppriseResult, true when every target took the message
    return ok, "" if ok else (detail or "Apprise reported a failed notification.")[-2000:]
