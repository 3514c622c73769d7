"""Sending one alert: a webhook (a JSON POST) or an email (SMTP). Each send either returns (the
receiver took it) or raises `DeliveryFailed` with a one-line reason that holds no secret.

Both use the standard library only, so alerts work on the core install (the scheduler's), with
no extra to install: `urllib.request` for the POST, `smtplib` and `email` for mail.

Values are data. The webhook URL is only ever requested, with the payload as the JSON body;
redirects are not followed (a 3xx is a failed try, so a webhook never sends the payload
somewhere its rule does not name). An address goes into a To: header through `EmailMessage`,
which refuses line breaks; the rules refused anything that could add a header or a recipient.

Secrets: the SMTP password is read only to log in and is masked (with the webhook URL, whose
path is often a secret of its own) out of every reason; the reasons name the receiver by its
redacted form (scheme and host).
"""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from shoal import __version__
from shoal.spec.alerts import redact_url

MAX_ANSWER_BYTES = 64 * 1024  # read of a webhook's answer (to let the connection close cleanly)


class DeliveryFailed(Exception):
    """Raised when one try of a delivery failed; `reason` says why, with secrets masked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Smtp:
    """Where and how email alerts are sent (SHOAL_SMTP_*)."""

    host: str | None
    port: int
    user: str | None
    password: str | None
    sender: str
    starttls: bool

    def __repr__(self) -> str:  # never the password, whoever prints this
        return f"Smtp(host={self.host!r}, port={self.port}, user={self.user!r}, starttls={self.starttls})"


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """`text` in one line with every secret in it replaced by ***."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return " ".join(text.split())[:500]


# ------------------------------------------------------------------------------- webhook


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


_OPENER = urllib.request.build_opener(_NoRedirects)


def send_webhook(url: str, payload: dict[str, Any], timeout: float) -> None:
    """POST `payload` as JSON to `url`; any 2xx answer is a delivery."""
    shown = redact_url(url)
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"shoal/{__version__}"},
    )
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            answer.read(MAX_ANSWER_BYTES)
            status = answer.status
    except urllib.error.HTTPError as exc:
        exc.close()
        what = "redirected (redirects are not followed: use the final URL)" if 300 <= exc.code < 400 else "answered"
        raise DeliveryFailed(f"{shown} {what} HTTP {exc.code} {exc.reason}".rstrip()) from None
    except urllib.error.URLError as exc:
        raise DeliveryFailed(f"cannot reach {shown}: {_reason(exc.reason, timeout, url)}") from None
    except (TimeoutError, socket.timeout):
        raise DeliveryFailed(f"{shown} did not answer within {timeout:g}s") from None
    except OSError as exc:  # a connection reset while reading the answer, ...
        raise DeliveryFailed(f"{shown}: {_reason(exc, timeout, url)}") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"{shown} answered HTTP {status}")


def _reason(reason: object, timeout: float, url: str) -> str:
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:g}s"
    if isinstance(reason, OSError) and reason.strerror:
        return scrub(reason.strerror, [url])
    return scrub(str(reason), [url])


# ------------------------------------------------------------------------------- email


def send_email(smtp: Smtp, address: str, payload: dict[str, Any], timeout: float) -> None:
    """Mail the alert in `payload` to `address` through the SMTP server `smtp` names."""
    if not smtp.host:
        raise DeliveryFailed("no SMTP server to send email through: set SHOAL_SMTP_HOST (docs/alerts.md)")
    message = EmailMessage()
    message["Subject"] = subject(payload)
    message["From"] = smtp.sender
    message["To"] = address
    message["X-Shoal-Event"] = str(payload.get("event", ""))
    message.set_content(text(payload))
    where = f"SMTP server {smtp.host}:{smtp.port}"
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            refused = client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryFailed(f"{where} refused the login of {smtp.user!r}: {_smtp_answer(exc, smtp)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        why = "; ".join(_smtp_answer(v, smtp) for v in exc.recipients.values())
        raise DeliveryFailed(f"{where} refused {address}: {why}") from None
    except smtplib.SMTPException as exc:
        raise DeliveryFailed(f"{where}: {_smtp_answer(exc, smtp)}") from None
    except (TimeoutError, socket.timeout):
        raise DeliveryFailed(f"{where} did not answer within {timeout:g}s") from None
    except OSError as exc:
        raise DeliveryFailed(f"cannot reach {where}: {scrub(exc.strerror or str(exc), [smtp.password])}") from None
    if refused:
        raise DeliveryFailed(f"{where} refused {address}: {_smtp_answer(refused.get(address), smtp)}")


def _smtp_answer(exc: object, smtp: Smtp) -> str:
    """An SMTP error as the server's code and words, with the password masked out of them."""
    code, words = getattr(exc, "smtp_code", None), getattr(exc, "smtp_error", None)
    if isinstance(exc, tuple) and len(exc) == 2:
        code, words = exc
    if isinstance(words, bytes):
        words = words.decode("utf-8", "replace")
    said = f"{code} {words}" if code is not None else str(exc)
    return scrub(said, [smtp.password])


HEADLINES = {
    "failure": "failed", "success": "succeeded", "timeout": "a task timed out", "retry": "a task will be retried",
    "long_running": "is running long",
}


def subject(payload: dict[str, Any]) -> str:
    """`[shoal] fraud/nightly run 12 failed` (names are letters, digits, _ and -)."""
    run = payload.get("run") or {}
    headline = HEADLINES.get(str(payload.get("event")), str(payload.get("event")))
    task = payload.get("task") or {}
    if task.get("name"):
        headline = f"task {task['name']} " + ("timed out" if payload.get("event") == "timeout" else "failed, retrying")
    return f"[shoal] {payload.get('project')}/{payload.get('workflow')} run {run.get('id')} {headline}"


def text(payload: dict[str, Any]) -> str:
    """The plain-text body of an alert email: the facts of the payload, then the link."""
    run = payload.get("run") or {}
    lines = [
        subject(payload).removeprefix("[shoal] "),
        "",
        f"event:        {payload.get('event')}",
        f"run:          {run.get('id')} ({run.get('state')}), trigger {run.get('trigger')}",
        f"logical date: {run.get('logical_date')}",
        f"started:      {run.get('started_at') or '-'}",
        f"ended:        {run.get('ended_at') or '-'}",
    ]
    if run.get("duration") is not None:
        lines.append(f"took:         {run['duration']:.1f}s")
    if payload.get("running_for") is not None:
        lines.append(f"running for:  {payload['running_for']:.0f}s (alert after {payload.get('after'):g}s)")
    task = payload.get("task")
    if task:
        lines += ["", f"task {task['name']}, attempt {task['attempt']}: {task['state']}",
                  f"  {task.get('error') or ''}"]
    failed = payload.get("failed_tasks") or []
    if failed:
        lines += ["", f"failed tasks ({payload.get('failed_task_count', len(failed))}):"]
        lines += [f"  - {t['name']} (attempt {t['attempt']}): {t.get('error') or ''}" for t in failed]
    lines += ["", f"details: {payload.get('link')}", "", "-- sent by shoal"]
    return "\n".join(lines) + "\n"


__all__ = ["DeliveryFailed", "Smtp", "scrub", "send_email", "send_webhook", "subject", "text"]
