"""The Shiny app object: ``shiny run shiny_app/app.py --host 127.0.0.1 --port 8050``.

Thin on purpose: the pages' layout lives in :mod:`shiny_app.pages`, what fills them in
:mod:`shiny_app.server`, SQL in :mod:`shiny_app.queries`.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # `shiny run shiny_app/app.py` imports this file by path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shiny import App

from shiny_app.pages import app_ui
from shiny_app.server import server

app = App(app_ui, server)
