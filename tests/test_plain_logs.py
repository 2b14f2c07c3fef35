"""Logs are plain text when stderr is not a terminal (a pipe, a file, journald, `docker logs`):
no ANSI escape sequences from `rum-gateway` or `demo-site`, and colours still on a terminal."""

import os
import pty
import re
import subprocess
import tempfile
import time

from conftest import GATEWAY, ROOT

DEMO_SITE = ROOT / "target" / "debug" / "demo-site"
ESC = b"\x1b"


def env_without_colour_switches():
    # NO_COLOR would turn colours off on its own and hide a regression.
    return {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}


def run_until(command, ready, stderr, timeout=30):
    """Starts `command`, waits for a stdout line matching `ready`, then stops it."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env_without_colour_switches(),
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            line = process.stdout.readline()
            if not line:
                raise AssertionError(f"{command[0]} exited before printing {ready!r}")
            if re.search(ready, line):
                break
            assert time.monotonic() < deadline, f"{command[0]} did not start in {timeout} s"
    finally:
        process.terminate()
    return process


def gateway_command(data_dir):
    return [
        str(GATEWAY),
        "--data-dir",
        data_dir,
        "--ingest-listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
    ]


def test_gateway_logs_are_plain_text_into_a_pipe():
    with tempfile.TemporaryDirectory(prefix="rum-gw-logs-") as data_dir:
        process = run_until(gateway_command(data_dir), rb"viewer listening on", subprocess.PIPE)
        _, err = process.communicate(timeout=30)
    assert b" INFO " in err and b"Starting." in err, err[:500]
    assert ESC not in err, f"ANSI escapes in piped logs: {err[:300]!r}"


def test_gateway_logs_keep_colours_on_a_terminal():
    # The other side of the switch, so the test above cannot pass by colours being off for good.
    main, child = pty.openpty()
    with tempfile.TemporaryDirectory(prefix="rum-gw-logs-") as data_dir:
        try:
            process = run_until(gateway_command(data_dir), rb"viewer listening on", child)
            process.wait(timeout=30)
        finally:
            os.close(child)
        err = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO once the terminal's other side is closed and drained
                break
            if not chunk:
                break
            err += chunk
        os.close(main)
    assert b"Starting." in err, err[:500]
    assert ESC in err, f"no colours on a terminal: {err[:300]!r}"


def test_demo_site_logs_are_plain_text_into_a_pipe():
    command = [
        str(DEMO_SITE),
        "--listen",
        "127.0.0.1:0",
        # Nothing listens on the discard port: the shop starts anyway and only its span export
        # fails (after this test has stopped it).
        "--gateway",
        "http://127.0.0.1:9",
        "--sdk-dir",
        str(ROOT / "js" / "dist"),
    ]
    assert DEMO_SITE.exists(), f"{DEMO_SITE} is missing: build it with `cargo build -p demo-site`"
    process = run_until(command, rb"^demo page: ", subprocess.PIPE)
    _, err = process.communicate(timeout=30)
    assert b" INFO " in err and b"demo shop listening" in err, err[:500]
    assert ESC not in err, f"ANSI escapes in piped logs: {err[:300]!r}"
