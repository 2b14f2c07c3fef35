"""`scripts/demo.sh` refuses to start, naming the port and what holds it, when one of its ports
is taken on 127.0.0.1: it checks before building anything, so this runs in well under a second
and never starts the demo. (A server that exits during start-up is caught by the script's wait
for its ports; that path needs the full build and is not run here.)"""

import os
import socket
import subprocess

import pytest

from conftest import ROOT

DEMO = ROOT / "scripts" / "demo.sh"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("taken", ["GATEWAY_PORT", "ADMIN_PORT", "DEMO_PORT"])
def test_demo_fails_loudly_when_a_port_is_taken(taken):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = dict(os.environ)
        for name in ("GATEWAY_PORT", "ADMIN_PORT", "DEMO_PORT"):
            env[name] = str(port if name == taken else free_port())
        result = subprocess.run(
            [str(DEMO)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
        )
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 ({taken}" in result.stderr, result.stderr
    assert "already in use" in result.stderr
    assert "http://" not in result.stdout, "printed URLs of a demo that did not start"
    assert "Compiling" not in result.stderr and "npm" not in result.stdout, "built before checking"


def test_demo_refuses_the_same_port_twice():
    port = str(free_port())
    env = {**os.environ, "GATEWAY_PORT": port, "ADMIN_PORT": port, "DEMO_PORT": str(free_port())}
    result = subprocess.run(
        [str(DEMO)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert f"are both {port}" in result.stderr, result.stderr
