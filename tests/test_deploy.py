"""deploy/: the Dockerfile builds with the README's own commands (no Docker engine runs here, so
the test of those commands covers the image), copies what exists and runs as a non-root user
with /data as a volume; the example config is one the gateway loads; the systemd unit passes
`systemd-analyze verify` where systemd is installed, and a syntax check everywhere."""

import json
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import GATEWAY, ROOT

DEPLOY = ROOT / "deploy"


def readme_build_commands():
    """The commands of the README's 'Running the gateway in production' block."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Running the gateway in production", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    commands = [line.split(" #", 1)[0].strip() for line in block.splitlines()]
    return [c for c in commands if c]


def dockerfile_instructions():
    """[(stage, INSTRUCTION, arguments)] with continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    out, stage = [], None
    for line in lines:
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            match = re.search(r"\bAS\s+(\S+)", args, re.I)
            stage = match.group(1) if match else "runtime"
        out.append((stage, instruction, args.strip()))
    return out


def test_dockerfile_builds_with_the_readme_commands():
    instructions = dockerfile_instructions()
    build_runs = [args for stage, ins, args in instructions if stage == "build" and ins == "RUN"]
    commands = readme_build_commands()
    assert commands == [
        "scripts/ensure-tools.sh --gateway",
        "cargo build --release --locked -p gateway",
    ], commands
    assert build_runs == commands, f"Dockerfile build RUN lines {build_runs} != README {commands}"
    # What the commands name exists: the script, the package and its binary.
    script = ROOT / shlex.split(commands[0])[0]
    assert script.is_file() and script.stat().st_mode & 0o111, script
    assert "--gateway)" in script.read_text()
    cargo = (ROOT / "gateway" / "Cargo.toml").read_text()
    assert re.search(r'^name = "gateway"$', cargo, re.M)
    assert re.search(r'\[\[bin\]\]\nname = "rum-gateway"', cargo)
    assert ("build", "COPY", ". .") in instructions


def test_the_readme_commands_run_here():
    # The first command as the image runs it (a no-op once the regexes are in place), and the
    # second's --locked: Cargo.lock matches the manifests, so resolving the gateway's
    # dependencies needs no change to it (a release build is too slow here; scripts/test.sh
    # builds the same package in debug).
    subprocess.run([str(ROOT / "scripts" / "ensure-tools.sh"), "--gateway"], cwd=ROOT,
                   check=True, timeout=300)
    assert (ROOT / "gateway" / "assets" / "uap-core" / "regexes.yaml").is_file()
    subprocess.run(["cargo", "tree", "--locked", "--offline", "-p", "gateway",
                    "-e", "normal,build", "--prefix", "none"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, timeout=120)


def test_dockerfile_runtime_stage():
    instructions = dockerfile_instructions()
    runtime = [(ins, args) for stage, ins, args in instructions if stage == "runtime"]
    by = {}
    for ins, args in runtime:
        by.setdefault(ins, []).append(args)
    # Non-root, /data as a volume and the data directory, the ports, the health check.
    assert by["USER"] == ["rum-gateway"]
    assert "useradd --system" in " ".join(by["RUN"])
    assert by["VOLUME"] == ["/data"]
    assert by["EXPOSE"] == ["4318 4319"]
    entrypoint = json.loads(by["ENTRYPOINT"][0])
    assert entrypoint == ["/usr/local/bin/rum-gateway", "--data-dir", "/data"]
    assert re.search(r"CMD curl -fsS .*http://127\.0\.0\.1:4318/healthz", by["HEALTHCHECK"][0])
    # Every COPY source exists: from the build stage, what the README's commands produce.
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    for args in by["COPY"]:
        parts = args.split()
        if parts[0] == "--from=build":
            source = parts[1].removeprefix("/src/")
            assert source in ("target/release/rum-gateway", "gateway/assets/uap-core/LICENSE")
        else:
            assert (ROOT / parts[0]).exists(), parts[0]
            assert not any(parts[0].startswith(i.rstrip("/")) for i in ignored), parts[0]
    # The build context keeps what the build needs.
    for needed in ("scripts", "gateway", "Cargo.lock", "Cargo.toml", "rum-sdk", "demo-site"):
        assert needed not in ignored, needed


def test_the_example_config_loads_and_both_ports_answer_healthz():
    assert GATEWAY.exists(), f"{GATEWAY} is missing: build it with `cargo build -p gateway`"
    with tempfile.TemporaryDirectory(prefix="rum-gw-deploy-") as data_dir:
        process = subprocess.Popen(
            [str(GATEWAY), "--config", str(DEPLOY / "gateway.example.toml"),
             "--data-dir", data_dir,
             "--ingest-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"],
            cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            urls = {}
            deadline = time.monotonic() + 30
            while len(urls) < 2:
                line = process.stdout.readline()
                if not line:
                    error = process.stderr.read()
                    raise AssertionError(f"rum-gateway refused the example: {error}")
                match = re.match(r"(ingest|viewer) listening on (http://\S+)", line)
                if match:
                    urls[match.group(1)] = match.group(2).rstrip("/")
                assert time.monotonic() < deadline
            for url in urls.values():
                with urllib.request.urlopen(url + "/healthz", timeout=10) as response:
                    assert response.status == 200
        finally:
            process.terminate()
            process.wait(30)


def unit_sections(text):
    sections, section = {}, None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if re.fullmatch(r"\[[A-Za-z]+\]", line):
            section = line[1:-1]
            sections.setdefault(section, {})
            continue
        match = re.fullmatch(r"([A-Za-z]+)=(.*)", line)
        assert match and section, f"line {number} is not Key=value in a section: {line!r}"
        sections[section].setdefault(match.group(1), []).append(match.group(2))
    return sections


def test_systemd_unit():
    text = (DEPLOY / "rum-gateway.service").read_text()
    unit = unit_sections(text)
    service = unit["Service"]
    assert service["User"] == ["rum-gateway"] and service["StateDirectory"] == ["rum-gateway"]
    assert service["ReadWritePaths"] == ["/var/lib/rum-gateway"]
    assert service["ExecStart"] == [
        "/usr/local/bin/rum-gateway --config /etc/rum-gateway/gateway.toml "
        "--data-dir /var/lib/rum-gateway"
    ]
    for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                       ("ProtectHome", "yes"), ("PrivateTmp", "yes")]:
        assert service[key] == [value], key
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    sysusers = (DEPLOY / "rum-gateway.sysusers").read_text()
    assert re.search(r"^u rum-gateway - \".*\" /var/lib/rum-gateway /usr/sbin/nologin$",
                     sysusers, re.M)

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze here: the syntax check above is all")
    # verify wants ExecStart's binary to exist: point it at the one built for the tests.
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "rum-gateway.service"
        copy.write_text(text.replace("/usr/local/bin/rum-gateway", str(GATEWAY)))
        result = subprocess.run([analyze, "verify", "--man=no", str(copy)],
                                capture_output=True, text=True, timeout=60)
    # verify exits 0 on an unknown key or a bad value and only warns: no output is the pass.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
