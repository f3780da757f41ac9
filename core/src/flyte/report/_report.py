"""The report of a task: tabs of HTML fragments, rendered into one self-contained HTML file."""

from __future__ import annotations

import html
import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from flyte.errors import RuntimeUserError
from flyte.syncify import SyncAndAio

__all__ = ["Report", "ReportClosedError", "Tab", "current_report", "flush", "get_tab", "log", "replace"]

logger = logging.getLogger("flyte")

MAIN_TAB = "main"


class ReportClosedError(RuntimeUserError):
    """A report was written to after its task ended (from a background task or a kept reference);
    write to a report only while its task runs, and await background work before returning."""

    def __init__(self, message: str):
        super().__init__("ReportClosed", message)


@dataclass
class Tab:
    """One tab of a report: HTML fragments (not whole documents), shown in the order logged."""

    name: str
    content: List[str] = field(default_factory=list, init=False)
    _report: Optional["Report"] = field(default=None, init=False, repr=False, compare=False)

    def log(self, content: str) -> None:
        """Append an HTML fragment to the tab."""
        self._check(content, "log")
        self.content.append(content)

    def replace(self, content: str) -> None:
        """Replace everything in the tab with one HTML fragment."""
        self._check(content, "replace")
        self.content = [content]

    def get_html(self) -> str:
        """The tab's fragments joined, as they are placed in the report."""
        return "\n".join(self.content)

    def _check(self, content: str, what: str) -> None:
        if not isinstance(content, str):
            from flyte.errors import TypeValidationError

            raise TypeValidationError("content", content, "an HTML fragment (str)", owner=f"flyte.report {what}")
        if self._report is not None:
            self._report._check_open(f"{what} to tab {self.name!r}")


@dataclass
class Report:
    """A task's report: named tabs (``main`` first) rendered by :meth:`get_final_report`.

    The engine makes one per action of a ``report=True`` task and writes it to its file on
    :func:`flush` and when the task ends; a ``Report`` made by hand is just a renderer.
    """

    name: str
    tabs: Dict[str, Tab] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._path: Optional[str] = None  # where flush writes; None: nowhere (a dummy report)
        self._closed_by: Optional[str] = None  # the task whose end closed the report
        self._live = True  # while the task runs, the file asks the browser to reload it
        self._lock = threading.Lock()  # sync task bodies and their threads may share a report
        self.get_tab(MAIN_TAB)

    @property
    def path(self) -> Optional[str]:
        """The HTML file this report is written to (None when it is not kept)."""
        return self._path

    def has_content(self) -> bool:
        """Whether anything has been logged to any tab."""
        return any(tab.content for tab in self.tabs.values())

    def get_tab(self, name: str, create_if_missing: bool = True) -> Tab:
        """The tab called ``name``, created when missing (else a ``ValueError``)."""
        tab = self.tabs.get(name)
        if tab is None:
            if not create_if_missing:
                from flyte.errors import ValidationError

                raise ValidationError("tab", name, f"one of the report's tabs: {', '.join(self.tabs)}", owner="flyte.report")
            self._check_open(f"get_tab({name!r})")
            tab = Tab(name)
            self.tabs[name] = tab
        tab._report = self
        return tab

    def get_final_report(self) -> str:
        """The report as one self-contained HTML document (no external scripts or styles)."""
        return render(self, live=False)

    # -- engine side -------------------------------------------------------------------------
    def _check_open(self, what: str) -> None:
        if self._closed_by is not None:
            raise ReportClosedError(
                f"{what} on the report of {self._closed_by} after the task ended; a report can be "
                "written only while its task runs (await background work that logs before returning)"
            )

    def _attach(self, path: str, on_write: Optional[Callable[[str], None]] = None) -> None:
        self._path = path
        self._on_write = on_write

    def _write(self) -> Optional[str]:
        """Render and write the report file atomically (a browser never sees half a file)."""
        if self._path is None:
            return None
        with self._lock:
            text = render(self, live=self._live)
            folder = os.path.dirname(self._path)
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, self._path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        on_write = getattr(self, "_on_write", None)
        if on_write is not None:
            on_write(self._path)
        return self._path

    def _close(self, owner: str) -> Optional[str]:
        """The task ended: write the final file (no reload) and refuse later writes."""
        self._live = False
        path = self._write() if (self.has_content() or self._path and os.path.exists(self._path)) else None
        self._closed_by = owner
        return path


def render(report: Report, live: bool) -> str:
    """The report's HTML: a tab bar and one section per tab that has content (``main`` always
    when it has content). A live report reloads itself every 2 seconds in a browser."""
    tabs = [t for n, t in report.tabs.items() if t.content or n != MAIN_TAB]
    nav = "".join(
        f'<button class="tab{" on" if i == 0 else ""}" data-i="{i}">{html.escape(t.name)}</button>'
        for i, t in enumerate(tabs)
    )
    # Fragments are the task's own HTML: inserted as they are (escaping would show markup as text).
    body = "".join(
        f'<section class="pane" data-i="{i}"{"" if i == 0 else " hidden"}>{t.get_html()}</section>'
        for i, t in enumerate(tabs)
    )
    refresh = '<meta http-equiv="refresh" content="2">' if live else ""
    return _TEMPLATE.format(title=html.escape(report.name), refresh=refresh, nav=nav if len(tabs) > 1 else "", body=body)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{refresh}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}}
nav{{border-bottom:1px solid #ccc;margin-bottom:1rem}}
.tab{{border:0;background:none;padding:.5rem 1rem;cursor:pointer;font-size:1rem}}
.tab.on{{border-bottom:2px solid #6f2aef;font-weight:600}}
</style></head>
<body><nav>{nav}</nav>{body}
<script>
document.querySelectorAll('.tab').forEach(function(b){{b.onclick=function(){{
document.querySelectorAll('.tab').forEach(function(x){{x.classList.toggle('on',x===b)}});
document.querySelectorAll('.pane').forEach(function(p){{p.hidden=p.dataset.i!==b.dataset.i}});}}}});
</script></body></html>
"""

_DUMMY_WARNED: set = set()


def current_report() -> Report:
    """The report of the running task; outside a ``report=True`` task, a report kept nowhere."""
    from flyte._context import current_task_context

    tctx = current_task_context.get()
    report = getattr(tctx, "report", None) if tctx is not None else None
    if isinstance(report, Report):
        return report
    if tctx is not None and tctx.task_name not in _DUMMY_WARNED:
        _DUMMY_WARNED.add(tctx.task_name)
        logger.warning(
            "task %s writes to its report but was not declared with report=True; the report is not kept",
            tctx.task_name,
        )
    return Report("dummy")


def get_tab(name: str, /, create_if_missing: bool = True) -> Tab:
    """The tab ``name`` of the current report (created when missing)."""
    return current_report().get_tab(name, create_if_missing=create_if_missing)


def _log(content: str, do_flush: bool = False) -> None:
    current_report().get_tab(MAIN_TAB).log(content)
    if do_flush:
        _flush()


def _replace(content: str, do_flush: bool = False) -> None:
    current_report().get_tab(MAIN_TAB).replace(content)
    if do_flush:
        _flush()


def _flush() -> None:
    report = current_report()
    report._check_open("flush")
    report._write()


# Writing a local file is quick: these work both called and awaited (``await log.aio(...)``),
# from sync and async task bodies alike.
log = SyncAndAio(_log, name="flyte.report.log")
log.__doc__ = """Append an HTML fragment to the main tab; ``do_flush=True`` also writes the report out."""
replace = SyncAndAio(_replace, name="flyte.report.replace")
replace.__doc__ = """Replace the main tab's content with an HTML fragment; ``do_flush`` as for ``log``."""
flush = SyncAndAio(_flush, name="flyte.report.flush")
flush.__doc__ = """Write the current report to its file now (a browser open on it shows the update)."""
