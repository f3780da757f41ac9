"""Task reports: HTML a task writes while it runs (``@env.task(report=True)``).

``flyte.report.log(html)`` appends to the report's main tab, ``replace(html)`` replaces it,
``get_tab(name)`` gives another tab and ``flush()`` writes the report out. Locally a task's
report is one self-contained HTML file in the run's data folder
(``<raw data path>/<run>/reports/<action>.html``), rewritten on every flush, so a browser open
on the file follows a streaming report; ``flyte get run`` and the end of ``flyte run`` print
its path. Writing to a report after its task ended is an error (:class:`ReportClosedError`).
"""

from __future__ import annotations

from flyte.report._report import Report, ReportClosedError, Tab, current_report, flush, get_tab, log, replace
from flyte.report._widgets import Timeline, abbreviate, duration_ms

__all__ = [
    "Report",
    "ReportClosedError",
    "Tab",
    "Timeline",
    "abbreviate",
    "current_report",
    "duration_ms",
    "flush",
    "get_tab",
    "log",
    "replace",
]
