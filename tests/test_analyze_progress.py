import io
import json
import shutil

from patentscope.analyze import analyze, progress_wanted, step_progress


def test_progress_is_off_when_stderr_is_not_a_terminal_or_quiet(monkeypatch):
    import sys

    import click

    assert progress_wanted(None) is False          # pytest captures stderr: not a TTY
    assert progress_wanted(True) is True and progress_wanted(False) is False

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    assert progress_wanted(None) is True

    class Obj:
        quiet = True

    with click.Context(click.Command("x"), obj=Obj()):
        assert progress_wanted(None) is False      # -q


def test_progress_line_renders_the_step_names(monkeypatch):
    import rich.console

    buf = io.StringIO()
    real = rich.console.Console
    monkeypatch.setattr(rich.console, "Console", lambda **kw: real(file=buf, force_terminal=True, width=100))
    with step_progress(2, True) as advance:
        advance("analyze holders")
        advance("analyze expiry")
    out = buf.getvalue()
    assert "analyze holders" in out and "analyze expiry" in out
    with step_progress(2, False) as advance:      # disabled: a no-op
        advance("x")


def test_analyze_with_progress_on_runs_the_steps(tmp_path, sample_warehouse, capsys):
    wh = tmp_path / "w.duckdb"
    shutil.copy(sample_warehouse, wh)
    res = analyze(wh, steps=("holders", "segments"), progress=False)
    assert set(res) == {"holders", "segments"}
    assert capsys.readouterr().err == ""
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    status, message = con.execute("SELECT status, message FROM ingest_runs WHERE source = 'analyze' "
                                  "ORDER BY run_id DESC LIMIT 1").fetchall()[0]
    con.close()
    assert status == "ok" and set(json.loads(message)) == {"holders", "segments"}
