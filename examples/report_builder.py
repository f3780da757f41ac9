"""Directories, pydantic models, enums and optional inputs.

    flyte run examples/report_builder.py build --title "Weekly" --fmt markdown
"""

import enum
import tempfile
from pathlib import Path
from typing import Optional

from pydantic import BaseModel

import flyte
from flyte.io import Dir

env = flyte.TaskEnvironment(name="reports")


class Format(enum.Enum):
    MARKDOWN = "markdown"
    TEXT = "text"


class Section(BaseModel):
    heading: str
    lines: list[str]


@env.task
def write_sections(title: str, sections: list[Section], fmt: Format) -> Dir:
    """Write one file per section into a directory, uploaded to the run's raw data path."""
    ext = "md" if fmt is Format.MARKDOWN else "txt"
    with tempfile.TemporaryDirectory() as tmp:  # from_local_sync copies the folder; this one then goes
        out = Path(tmp)
        for i, s in enumerate(sections):
            head = f"# {title}: {s.heading}" if fmt is Format.MARKDOWN else f"{title}: {s.heading}"
            (out / f"{i:02d}-{s.heading.lower()}.{ext}").write_text("\n".join([head, *s.lines]) + "\n")
        return Dir.from_local_sync(str(out))


@env.task
def count_lines(report: Dir) -> int:
    """Download the directory and count lines across its files."""
    with tempfile.TemporaryDirectory() as tmp:  # the downloaded copy is removed once counted
        local = Path(report.download_sync(Path(tmp) / "report"))
        return sum(len(p.read_text().splitlines()) for p in sorted(local.rglob("*")) if p.is_file())


@env.task
def build(title: str = "Weekly", fmt: Format = Format.MARKDOWN, owner: Optional[str] = None) -> int:
    """Build a report directory and return its total line count."""
    sections = [
        Section(heading="Wins", lines=["shipped the local engine", "added caching"]),
        Section(heading="Risks", lines=[f"owner: {owner or 'unassigned'}"]),
    ]
    report = write_sections(title, sections, fmt)
    return count_lines(report)


if __name__ == "__main__":
    flyte.init()
    print(flyte.run(build, title="Weekly").outputs()[0])
