"""flyte.report: a task's report is a self-contained HTML file in the run's data folder."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

import flyte
import flyte.report
from flyte.report import ReportClosedError
from tests.core.test_cli_run import flyte_cli

env = flyte.TaskEnvironment(name="report-tests")


@env.task(report=True)
async def streaming(n: int) -> str:
    await flyte.report.log.aio("<h1>Streaming report</h1>", do_flush=True)
    path = Path(flyte.report.current_report().path)
    seen = []
    for i in range(n):
        flyte.report.log(f"<p>epoch {i}</p>", do_flush=True)
        seen.append(f"<p>epoch {i}</p>" in path.read_text())  # on disk after each flush
    tab = flyte.report.get_tab("metrics")
    tab.log("<table><tr><td>loss</td><td>0.25</td></tr></table>")
    timeline = flyte.report.Timeline("events")
    timeline.heading("Training")
    timeline.row(icon="*", label="step 1", meta="3 ms", error="x" * 500)
    live = '<meta http-equiv="refresh"' in path.read_text()
    return json.dumps({"seen": seen, "live": live, "path": str(path)})


@env.task(report=True)
def replaced() -> None:
    flyte.report.log("<p>draft</p>")
    flyte.report.replace("<p>final &amp; only</p>")


@env.task
async def parent(n: int) -> str:
    await replaced.aio()
    return await streaming(n)


def test_the_report_file_holds_what_the_task_logged(isolated_flyte_home):
    run = flyte.run(parent, 3)
    info = json.loads(run.outputs()[0])
    assert info["seen"] == [True, True, True]  # flush rewrote the file every time
    assert info["live"] is True  # while the task ran, the file reloads itself in a browser
    path = Path(info["path"])
    assert path.parent == isolated_flyte_home / "data" / run.name / "reports"
    assert path.suffix == ".html"
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script src" not in html and "<link" not in html  # self-contained
    for fragment in ("<h1>Streaming report</h1>", "<p>epoch 2</p>", "<td>loss</td>", "Training", "step 1", "(+300)"):
        assert fragment in html, fragment
    assert ">metrics</button>" in html and ">events</button>" in html
    assert '<meta http-equiv="refresh"' not in html  # final: no reload
    assert len(run.reports) == 2 and str(path) in run.reports.values()
    other = Path(next(p for p in run.reports.values() if p != str(path))).read_text()
    assert "final &amp; only" in other and "draft" not in other


LATE: dict = {}  # the background writer a task leaves behind


@env.task(report=True)
async def leaves_a_writer() -> str:
    flyte.report.log("<p>in time</p>")
    report = flyte.report.current_report()

    async def late() -> None:
        await asyncio.sleep(0.05)
        report.get_tab("main").log("<p>too late</p>")

    LATE["writer"] = asyncio.get_running_loop().create_task(late())
    return "done"


@env.task
async def waits_for_late_writer() -> str:
    await leaves_a_writer()
    try:
        await LATE.pop("writer")
    except ReportClosedError as e:
        return str(e)
    return "no error"


def test_a_report_written_after_its_task_ended_is_a_clear_error(isolated_flyte_home):
    msg = flyte.run(waits_for_late_writer).outputs()[0]
    assert "after the task ended" in msg and "leaves_a_writer" in msg and "tab 'main'" in msg


def test_outside_a_task_and_without_report_true_nothing_is_kept(isolated_flyte_home, caplog):
    flyte.report.log("<p>nowhere</p>", do_flush=True)  # outside a task: a report kept nowhere
    assert flyte.report.current_report().path is None

    @env.task
    async def forgot() -> None:
        flyte.report.log("<p>lost</p>")
        flyte.report.log("<p>lost again</p>")

    with caplog.at_level(logging.WARNING, logger="flyte"):
        run = flyte.run(forgot)
    assert run.reports == {}
    assert [r.getMessage() for r in caplog.records].count(
        f"task {forgot.name} writes to its report but was not declared with report=True; the report is not kept"
    ) == 1


def test_report_fragments_must_be_text(isolated_flyte_home):
    with pytest.raises(TypeError, match="HTML fragment"):
        flyte.report.Report("r").get_tab("main").log(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tab='nope'"):
        flyte.report.Report("r").get_tab("nope", create_if_missing=False)


def test_flyte_run_and_get_run_print_the_report_path(isolated_flyte_home):
    res = flyte_cli(isolated_flyte_home, "run", "--name", "rep-run", "examples/report_streaming.py", "stream_report", "--epochs", "2")
    assert res.returncode == 0, res.stderr
    line = next(l for l in res.stderr.splitlines() if l.startswith("Report of "))
    path = Path(line.split(": ", 1)[1])
    assert path.is_file() and "Simple streaming report" in path.read_text()
    got = flyte_cli(isolated_flyte_home, "get", "run", "rep-run")
    assert got.returncode == 0, got.stderr
    assert "Reports:" in got.stdout and str(path) in got.stdout
    doc = json.loads(flyte_cli(isolated_flyte_home, "get", "run", "rep-run", "-o", "json").stdout)
    assert list(doc["reports"].values()) == [str(path)]
