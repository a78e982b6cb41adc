"""The object every command receives (settings, quiet, the landscape) and the error boundary:
expected failures print one line and exit with their class's code, bugs exit 70."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from ..config import Settings
from ..errors import PatentscopeError
from ..landscape import Landscape, load_landscape


class Ctx:
    def __init__(self, settings: Settings, quiet: bool):
        self.settings = settings
        self.quiet = quiet

    def log(self, msg: str) -> None:
        if not self.quiet:
            click.echo(msg, err=True)

    def landscape(self) -> Landscape:
        return load_landscape(self.settings.landscape)


def fail(err: PatentscopeError) -> NoReturn:
    click.echo(f"patentscope: error: {err}", err=True)
    sys.exit(err.exit_code)


class Group(click.Group):
    """Turns every expected error into a one-line message and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PatentscopeError as e:
            fail(e)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # `patentscope sql ... | head`: the reader left; stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except Exception as e:  # a bug: one line by default, the traceback on request
            if os.environ.get("PATENTSCOPE_DEBUG"):
                raise
            click.echo(f"patentscope: internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                       "(a bug: please report it; set PATENTSCOPE_DEBUG=1 to see the traceback)", err=True)
            sys.exit(70)
