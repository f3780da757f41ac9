"""The scratch task type: ``pre`` makes the directory, ``post`` measures and removes it."""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from flyte.extend import AsyncFunctionTaskTemplate
from flyte.models import SerializationContext

from flyte_plugin_scratch.config import ScratchConfig

logger = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ScratchTask(AsyncFunctionTaskTemplate):
    """A Python task with a private scratch directory (``flyte.ctx().data["scratch_dir"]``)."""

    plugin_config: ScratchConfig
    task_type: str = "scratch"

    async def pre(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        # One directory per attempt, stored on the instance for post(); a task object runs one
        # attempt at a time on the local engine.
        self._scratch_dir = Path(tempfile.mkdtemp(prefix=self.plugin_config.prefix))
        return {"scratch_dir": str(self._scratch_dir)}

    async def post(self, return_vals: Any) -> Any:
        scratch: Optional[Path] = getattr(self, "_scratch_dir", None)
        if scratch is None:
            return None
        used = sum(p.stat().st_size for p in scratch.rglob("*") if p.is_file())
        if self.plugin_config.keep:
            logger.info("scratch directory kept at %s (%d bytes)", scratch, used)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
        # None leaves the function's own return value as the task's output.
        return used if self.plugin_config.report_usage else None

    def custom_config(self, sctx: SerializationContext) -> Dict[str, Any]:
        return {"prefix": self.plugin_config.prefix, "keep": self.plugin_config.keep}
