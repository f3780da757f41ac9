"""Small report widgets: a chronological timeline of rows, and the helpers that format them."""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Any

__all__ = ["Timeline", "abbreviate", "duration_ms"]

logger = logging.getLogger("flyte")

_FULL_LIMIT = 20_000  # the most characters an expanded value shows, so one value cannot bloat a report


def abbreviate(value: Any, limit: int = 300) -> str:
    """``value`` as escaped HTML; longer than ``limit`` characters, a preview that expands in place."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return html.escape(text)
    full = html.escape(text[:_FULL_LIMIT])
    if len(text) > _FULL_LIMIT:
        full += f"\n... ({len(text) - _FULL_LIMIT} more characters not shown)"
    return (
        f"<details style=\"display:inline-block\"><summary>{html.escape(text[:limit])}... "
        f"(+{len(text) - limit})</summary><pre style=\"white-space:pre-wrap\">{full}</pre></details>"
    )


def duration_ms(start_iso: Any, end_iso: Any) -> str:
    """The time between two ISO-8601 timestamps as ``"<n> ms"``; ``""`` when either is missing or unreadable."""
    if not start_iso or not end_iso:
        return ""
    try:
        start = datetime.fromisoformat(str(start_iso).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(end_iso).replace("Z", "+00:00"))
        return f"{(end - start).total_seconds() * 1000:.0f} ms"
    except (TypeError, ValueError):
        return ""


class Timeline:
    """Rows appended to a tab of the current report, in the order they happen.

    Rendering is best effort: without a report to write to, rows are dropped (logged at debug
    level), so a timeline never breaks the work it describes.
    """

    def __init__(self, tab_name: str = "main"):
        self._tab_name = tab_name

    def heading(self, text: Any) -> None:
        """A heading row."""
        self._log(f"<h3 style=\"margin:8px 0 4px\">{html.escape(str(text))}</h3>")

    def row(self, *, icon: str = "•", label: Any = "", meta: str = "", detail: str = "", error: Any = None) -> None:
        """One row: an icon, a bold label, muted meta text, an HTML detail and an optional error."""
        err = f" <span style=\"color:#c22\">⚠ {abbreviate(error, 200)}</span>" if error else ""
        more = f" — {detail}" if detail else ""
        self._log(
            "<div style=\"padding:3px 0;border-bottom:1px solid #eee;font-size:13px\">"
            f"{icon} <b>{html.escape(str(label))}</b> <span style=\"opacity:.6\">{html.escape(meta)}</span>{more}{err}</div>"
        )

    def _log(self, fragment: str) -> None:
        from flyte.report._report import ReportClosedError, get_tab

        try:
            get_tab(self._tab_name).log(fragment)
        except ReportClosedError:
            raise  # a late write is a bug of the caller, as for any report write
        except Exception:  # noqa: BLE001 - best effort by contract
            logger.debug("Timeline: nothing to render into", exc_info=True)
