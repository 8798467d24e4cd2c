"""`tlsviz explore` without a browser: the notebook it serves, the command line, the refusals
(the page itself is tested in tests/test_browser.py::test_tlsviz_explore_serves_the_explorer)."""

import re
import socket
from pathlib import Path

import pytest

from tlsviz.cli import main
from tlsviz.widgets.serve import app_notebook, serve, voila_command

ROOT = Path(__file__).parents[1]


def test_the_served_notebook_opens_the_explorer(tmp_path):
    assert app_notebook().cells[0].source.endswith("Explorer()")
    code = app_notebook(tmp_path).cells[0].source
    assert f"Explorer({str(tmp_path.resolve())!r})" in code  # absolute: the kernel runs elsewhere
    cmd = voila_command(tmp_path / "nb.ipynb", 8870)
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=8870" in cmd and "--no-browser" in cmd


def test_bad_port_and_catalogue_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="1-65535"):
        serve(port=70000)
    with pytest.raises(ValueError, match="not a tlsviz catalogue"):
        serve(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["explore", str(tmp_path / "nowhere")])
    assert exit_.value.code == 2 and "tlsviz explore: error:" in capsys.readouterr().err


def test_a_busy_port_is_named(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert serve(port=port) == 1
    assert f"port {port} on 127.0.0.1 is in use: choose another with --port" in capsys.readouterr().err


def test_readme_badges_open_notebooks_that_exist():
    readme = (ROOT / "README.md").read_text()
    voila = re.findall(r"urlpath=voila/render/([^)`\s]+)", readme)
    assert voila and all((ROOT / path).is_file() for path in voila)
    assert "urlpath=lab/tree/notebooks" in readme
    assert any(line.startswith("voila") for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines())


def test_a_page_closed_mid_message_prints_no_traceback(capsys):
    """Voilà runs under loops whose exception handler drops the WebSocketClosedError of a task
    writing to a page that was closed (what tornado leaves behind, printed by asyncio as "Task
    exception was never retrieved"), and still reports any other exception."""
    import asyncio
    import logging

    from tornado.websocket import WebSocketClosedError

    from tlsviz.widgets._voila import QuietClosedSocketsPolicy

    assert voila_command(Path("nb.ipynb"), 8870)[1:3] == ["-m", "tlsviz.widgets._voila"]
    loop = QuietClosedSocketsPolicy().new_event_loop()
    seen = []
    handler = logging.Handler()
    handler.emit = seen.append
    logging.getLogger("asyncio").addHandler(handler)
    try:
        async def fails(exc):
            raise exc

        for exc in (WebSocketClosedError(), RuntimeError("a real error")):
            task = loop.create_task(fails(exc))
            loop.run_until_complete(asyncio.sleep(0))
            assert task.done()
            del task  # never retrieved: asyncio calls the loop's exception handler
            import gc

            gc.collect()
    finally:
        logging.getLogger("asyncio").removeHandler(handler)
        loop.close()
    messages = [r.getMessage() + str(r.exc_info) for r in seen]
    assert len(messages) == 1 and "a real error" in messages[0]
