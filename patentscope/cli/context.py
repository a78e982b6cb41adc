"""The object every command receives (settings, quiet, the landscape) and the error boundary:
expected failures print one line and exit with their class's code, bugs exit 70."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, NoReturn

import click
import duckdb

from ..config import Settings
from ..errors import PatentscopeError
from ..landscape import Landscape, load_landscape


class Ctx:
    def __init__(self, settings: Settings, quiet: bool):
        self.settings = settings
        self.quiet = quiet

    def log(self, msg: str) -> None:
        if not self.quiet:
            from ..redact import scrub  # no secret in a log line

            click.echo(scrub(msg), err=True)

    def landscape(self) -> Landscape:
        return load_landscape(self.settings.landscape)


def fail(err: PatentscopeError) -> NoReturn:
    from ..redact import scrub  # no secret in an error message

    click.echo(f"patentscope: error: {scrub(str(err))}", err=True)
    sys.exit(err.exit_code)


class Group(click.Group):
    """Turns every expected error into a one-line message and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        if hasattr(signal, "SIGXFSZ") and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file-size limit fails the write, not the process
        try:
            return super().invoke(ctx)
        except PatentscopeError as e:
            fail(e)
        except (duckdb.IOException, duckdb.TransactionException) as e:  # a full disk or a file-size limit mid-write
            from ..errors import WarehouseError

            fail(WarehouseError(f"the warehouse could not be written: {str(e).splitlines()[0]}; the transaction was "
                                "rolled back and nothing was saved. Check free disk space and file-size limits (ulimit -f)"))
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # `patentscope sql ... | head`: the reader left; stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except Exception as e:  # a bug: one line by default, the traceback on request
            if os.environ.get("PATENTSCOPE_DEBUG"):
                raise
            from ..redact import scrub

            click.echo(f"patentscope: internal error: {type(e).__name__}: {scrub(str(e).splitlines()[0]) if str(e) else ''} "
                       "(a bug: please report it; set PATENTSCOPE_DEBUG=1 to see the traceback)", err=True)
            sys.exit(70)


def ingest_group(main: click.Group) -> click.Group:
    """The core ``ingest`` group, which the ingest command modules add their commands to; it must
    be registered first (patentscope/cli/__init__.py), else registration fails loudly instead of
    silently adding nothing."""
    ingest = main.commands.get("ingest")
    if not isinstance(ingest, click.Group):
        raise TypeError("the core `ingest` group must be registered before the ingest command modules")
    return ingest
