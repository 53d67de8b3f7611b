"""The official SDKs' exceptions as ModelError, classified the same way for every wire.

Both SDKs share their exception names (APIStatusError, APITimeoutError, APIConnectionError,
APIError), so one function serves both; the adapter passes its SDK module.
"""

from __future__ import annotations

import re
from typing import Any

from agentcli.models.base import ModelError, one_line, retry_after_of
from agentcli.models.streaming import EventTooLarge

# Statuses and failures the SDKs already retried (with back-off) before raising.
_SDK_RETRIED = {408, 409, 429} | set(range(500, 600))

# Error types, as they arrive in the body of an error or in an `error` event inside a stream.
_TYPE_KINDS = {"overloaded_error": "overloaded", "rate_limit_error": "rate_limit",
               "api_error": "server", "server_error": "server", "timeout_error": "timeout",
               "authentication_error": "auth", "permission_error": "auth",
               "invalid_request_error": "bad_request", "request_too_large": "context_length",
               "not_found_error": "not_found", "insufficient_quota": "quota"}

_CONTEXT_WORDS = ("prompt is too long", "context length", "context window", "context_length",
                  "maximum context", "too many tokens")


def detail_of(exc: Any) -> str:
    """The provider's own message, without the SDK's "Error code: 529 - {...}" wrapping."""
    error = _body_error(exc)
    if error.get("message"):
        return one_line(str(error["message"]))
    text = str(getattr(exc, "message", None) or exc or type(exc).__name__)
    return one_line(re.sub(r"^Error code: \d+ - ", "", text))


def classify(exc: Exception, sdk: Any, model: str, where: str) -> ModelError:
    """A ModelError for `exc`, raised by `sdk` while `model` talked to `where` (its base URL)."""
    detail = detail_of(exc)
    if isinstance(exc, sdk.APIStatusError) and exc.status_code >= 400:
        return _by_status(exc, exc.status_code, detail, model)
    if isinstance(exc, sdk.APITimeoutError):
        return ModelError("timeout", f"no answer from {where} in time", model=model, sdk_retried=True)
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        why = one_line(str(cause)) if cause is not None and str(cause) else detail
        return ModelError("connection", f"cannot reach {where}: {why}", model=model, sdk_retried=True)
    if isinstance(exc, sdk.APIError):
        return stream_error(_body_error(exc), model, detail)
    if isinstance(exc, EventTooLarge):
        return ModelError("bad_request", f"refused the reply: {detail}", model=model)
    return ModelError("connection", f"the stream broke: {type(exc).__name__}: {detail}", model=model)


def stream_error(error: dict[str, Any], model: str, detail: str | None = None) -> ModelError:
    """An `error` event inside a stream that began with 200 (how "overloaded" often arrives):
    the HTTP status says nothing, the error's type does. `error` is the event's error object."""
    if detail is None:
        detail = one_line(str(error.get("message") or error or "no message"))
    etype = str(error.get("type") or error.get("code") or "")
    kind = _TYPE_KINDS.get(etype) or ("overloaded" if "overloaded" in detail.lower() else "server")
    return ModelError(kind, f"error in the stream ({etype or 'unknown'}): {detail}", model=model)


def _by_status(exc: Any, status: int, detail: str, model: str) -> ModelError:
    low = detail.lower()
    etype = str(_body_error(exc).get("type") or _body_error(exc).get("code") or "")
    if status in (401, 403):
        kind, label = "auth", "authentication failed"
    elif status == 429:
        quota = "quota" in low or etype == "insufficient_quota"
        kind, label = ("quota", "quota exhausted") if quota else ("rate_limit", "rate limited")
    elif status == 529 or etype == "overloaded_error":
        kind, label = "overloaded", "overloaded"
    elif status >= 500:
        kind, label = "server", "server error"
    elif status in (400, 413) and (etype == "request_too_large" or any(w in low for w in _CONTEXT_WORDS)):
        kind, label = "context_length", "request too large"
    elif status == 404:
        kind, label = "not_found", "model or endpoint not found"
    else:
        kind, label = "bad_request", "request rejected"
    retry_after = retry_after_of(exc) if kind in ("rate_limit", "overloaded", "server") else None
    return ModelError(kind, f"{label} ({status}): {detail}", model=model, status=status,
                      retry_after=retry_after, sdk_retried=status in _SDK_RETRIED)


def _body_error(exc: Any) -> dict[str, Any]:
    body = getattr(exc, "body", None)
    if not isinstance(body, dict):
        return {}
    error = body.get("error", body)
    return error if isinstance(error, dict) else {}
