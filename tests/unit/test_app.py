"""The faust app the worker runs: what it does at start-up."""

from __future__ import annotations

import gc

from monitor.app import create_faust_app
from monitor.settings import load_settings


async def test_the_app_freezes_what_start_up_built() -> None:
    app = create_faust_app(load_settings(environ={}), role="leader")
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        for task in app._app_tasks:  # what faust runs once the worker is ready
            await task()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
