"""The shipped scheduling files (deploy/): systemd service + timer and the crontab example.

Always: a parser-level check (sections and keys systemd knows, the command line parses with
patentscope's own CLI, the crontab line's 5 time fields are valid, no secret in any file).
Where /usr/bin/systemd-analyze works offline: `systemd-analyze verify` of the units (with
ExecStart pointed at this machine's patentscope) must print nothing, and the timer's OnCalendar
must be a valid calendar expression."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from patentscope.cli import main

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
SERVICE = DEPLOY / "patentscope-ingest.service"
TIMER = DEPLOY / "patentscope-ingest.timer"
CRONTAB = DEPLOY / "crontab.example"
INSTALLED_EXEC = "/opt/patentscope/venv/bin/patentscope"

# The keys these units may use, per section (systemd.unit(5), systemd.service(5), systemd.exec(5),
# systemd.timer(5)); systemd-analyze only warns about unknown keys, so typos are caught here.
KNOWN = {
    "Unit": {"Description", "Documentation", "Wants", "After", "Requires", "OnFailure", "ConditionPathExists"},
    "Service": {"Type", "User", "Group", "WorkingDirectory", "EnvironmentFile", "Environment", "ExecStart", "TimeoutStartSec",
                "Nice", "IOSchedulingClass", "NoNewPrivileges", "PrivateTmp", "ProtectSystem", "ProtectHome",
                "ReadWritePaths", "SuccessExitStatus", "CPUSchedulingPolicy"},
    "Timer": {"OnCalendar", "RandomizedDelaySec", "Persistent", "Unit", "AccuracySec", "OnBootSec"},
    "Install": {"WantedBy"},
}


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """systemd's INI dialect: [Section], Key=Value (keys may repeat), # and ; comments."""
    out: dict[str, list[tuple[str, str]]] = {}
    section = None
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[([A-Za-z]+)\]", line)
        if m:
            section = m[1]
            out.setdefault(section, [])
            continue
        assert section is not None, f"{path.name}:{n}: key outside a section"
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z]+", key.strip()), f"{path.name}:{n}: not Key=Value: {raw!r}"
        out[section].append((key.strip(), value.strip()))
    return out


def one(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> str:
    vals = [v for k, v in unit.get(section, []) if k == key]
    assert len(vals) == 1, f"[{section}] {key}: {vals}"
    return vals[0]


def check_cli(args: list[str]) -> dict:
    """The arguments parse with patentscope's CLI (nothing runs); returns the ingest params."""
    ctx = main.make_context("patentscope", list(args), resilient_parsing=True)
    protected = getattr(ctx, "_protected_args", None)
    full = [*(protected if protected is not None else ctx.protected_args), *ctx.args]
    name, cmd, rest = main.resolve_command(ctx, full)
    assert name == "ingest" and cmd is not None
    sub = cmd.make_context(name, rest, parent=ctx)  # raises on an unknown option
    return sub.params


def test_units_parse_with_known_keys_and_a_valid_command():
    service, timer = parse_unit(SERVICE), parse_unit(TIMER)
    for unit in (service, timer):
        for section, items in unit.items():
            assert section in KNOWN, section
            for key, _ in items:
                assert key in KNOWN[section], f"[{section}] {key}"
    assert one(service, "Service", "Type") == "oneshot"
    exec_start = shlex.split(one(service, "Service", "ExecStart"))
    assert exec_start[0] == INSTALLED_EXEC
    assert check_cli(exec_start[1:]) == {"run_all": True, "json_logs": True, "only": (), "no_analyze": False}
    env = dict(v.split("=", 1) for k, v in service["Service"] if k == "Environment")
    assert env["PATENTSCOPE_CONFIG"].endswith("patentscope.toml")
    assert not [k for k in env if re.search(r"KEY|SECRET|TOKEN|PASSWORD", k)]  # secrets only via EnvironmentFile
    assert one(service, "Service", "EnvironmentFile").startswith("-/")
    assert one(timer, "Timer", "Unit") == SERVICE.name
    assert one(timer, "Timer", "Persistent") == "true"
    assert one(timer, "Install", "WantedBy") == "timers.target"
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:\d\d( UTC)?", one(timer, "Timer", "OnCalendar"))


_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_NAMES = {3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
          4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]}


def cron_field_ok(text: str, i: int) -> bool:
    _, lo, hi = _FIELDS[i]
    names = _NAMES.get(i, [])

    def value(s: str) -> int | None:
        if s.isdigit():
            return int(s)
        if s.lower() in names:
            return names.index(s.lower()) + (1 if i == 3 else 0)
        return None

    for part in text.split(","):
        rng, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return False
        if rng == "*":
            continue
        a, _, b = rng.partition("-")
        va, vb = value(a), value(b) if b else None
        if va is None or not lo <= va <= hi or (b and (vb is None or not lo <= vb <= hi or vb < va)):
            return False
    return True


def cron_lines(path: Path) -> list[tuple[list[str], str]]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", line):
            continue
        parts = line.split(None, 5)
        out.append((parts[:5], parts[5] if len(parts) > 5 else ""))
    return out


def test_cron_field_checker():
    assert cron_field_ok("*/15", 0) and cron_field_ok("1-5", 4) and cron_field_ok("mon-fri", 4) and cron_field_ok("3,15", 1)
    assert not cron_field_ok("60", 0) and not cron_field_ok("*/0", 0) and not cron_field_ok("5-1", 4)
    assert not cron_field_ok("0", 2) and not cron_field_ok("13", 3) and not cron_field_ok("x", 1)


def test_crontab_line_has_5_valid_fields_and_a_valid_command():
    lines = cron_lines(CRONTAB)
    assert len(lines) == 1
    fields, command = lines[0]
    assert len(fields) == 5 and all(cron_field_ok(f, i) for i, f in enumerate(fields)), fields
    assert "%" not in command.replace("\\%", "")  # cron turns an unescaped % into a newline
    words = shlex.split(command)
    i = words.index(INSTALLED_EXEC)
    args = words[i + 1:words.index("||") if "||" in words else len(words)]
    args = [a for a in args if not a.startswith("2>")]
    assert check_cli(args)["run_all"] is True
    env = dict(line.split("=", 1) for line in CRONTAB.read_text().splitlines() if re.fullmatch(r"[A-Z_]+=.*", line))
    assert env["SHELL"] == "/bin/sh" and env["PATENTSCOPE_CONFIG"].endswith(".toml")


def test_docs_show_the_shipped_files():
    docs = (REPO / "docs" / "jobs.md").read_text(encoding="utf-8")
    (fields, command), = cron_lines(CRONTAB)
    assert " ".join(fields) + " " + command in docs
    assert one(parse_unit(SERVICE), "Service", "ExecStart") in docs and one(parse_unit(TIMER), "Timer", "OnCalendar") in docs


def _systemd_analyze() -> str:
    exe = shutil.which("systemd-analyze") or ("/usr/bin/systemd-analyze" if Path("/usr/bin/systemd-analyze").exists() else None)
    if exe is None:
        pytest.skip("systemd-analyze is not installed here; the parser-level checks above still ran")
    return exe


def test_systemd_analyze_verify(tmp_path):
    exe = _systemd_analyze()
    probe = tmp_path / "probe" / "probe.service"
    probe.parent.mkdir()
    probe.write_text("[Unit]\nDescription=probe\n\n[Service]\nType=oneshot\nExecStart=/bin/true\n")
    p = subprocess.run([exe, "verify", "--man=no", str(probe)], capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or p.stderr.strip():
        pytest.skip(f"systemd-analyze verify does not work offline here ({(p.stderr or p.stdout).strip()[:200]})")
    here = shutil.which("patentscope") or str(Path(sys.executable).with_name("patentscope"))
    if not Path(here).exists():
        pytest.skip("no patentscope executable beside this Python to point ExecStart at")
    for f in (SERVICE, TIMER):
        (tmp_path / f.name).write_text(f.read_text().replace(INSTALLED_EXEC, here))
    p = subprocess.run([exe, "verify", "--man=no", str(tmp_path / SERVICE.name), str(tmp_path / TIMER.name)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and not p.stderr.strip() and not p.stdout.strip(), p.stderr + p.stdout
    cal = one(parse_unit(TIMER), "Timer", "OnCalendar")
    p = subprocess.run([exe, "calendar", cal], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "Next elapse" in p.stdout, p.stderr
    # and a broken unit is caught, so the check above means something
    (tmp_path / "bad.service").write_text(SERVICE.read_text().replace(INSTALLED_EXEC, "/nonexistent/patentscope"))
    p = subprocess.run([exe, "verify", "--man=no", str(tmp_path / "bad.service")], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 or p.stderr.strip()
