"""The installed guard in child processes with hand-made policies (D4).

Each fixture runs one child process that installs the guard and attempts a batch
of operations; the tests then look at one attempt each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.guard.support import http_server, outside_tmp_dir, run_guarded


@pytest.fixture(scope="module")
def outside() -> Path:
    directory = outside_tmp_dir()
    (directory / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (directory / "sub").mkdir()
    return directory


@pytest.fixture(scope="module")
def contract_run(outside: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    scratch = tmp_path_factory.mktemp("scratch")
    (scratch / "data.txt").write_text("data")
    with http_server() as declared_port, http_server() as other_port:
        policy = {
            "hosts": [
                ["localhost", declared_port, "TCP", "local"],
                ["api.declared.test", 443, "TCP", "api"],
                ["127.0.0.1", other_port, "TCP", "literal"],
            ],
            "read_paths": [str(scratch)],
        }
        body = f"""
        import socket, subprocess, shutil, tempfile, urllib.request, http.client
        OUT = {str(outside)!r}
        SCRATCH = {str(scratch)!r}
        conn = socket.create_connection
        addresses = lambda: sorted({{i[4][0] for i in socket.getaddrinfo("localhost", {declared_port})}})
        attempt("resolve declared", addresses)
        attempt("connect resolved", lambda: conn(("localhost", {declared_port}), 5).close())
        attempt("connect resolved ip", lambda: conn(("127.0.0.1", {declared_port}), 5).close())
        attempt("connect literal", lambda: conn(("127.0.0.1", {other_port}), 5).close())
        attempt("resolve undeclared", lambda: socket.getaddrinfo("evil.example", 443))
        attempt("gethostbyname undeclared", lambda: socket.gethostbyname("evil.example"))
        attempt("declared name, other port", lambda: socket.getaddrinfo("api.declared.test", 8443))
        attempt("connect by name", lambda: socket.socket().connect(("localhost", 80)))
        attempt("raw ip", lambda: socket.create_connection(("192.0.2.10", 443), 5))
        attempt("resolved ip, other port", lambda: socket.create_connection(("127.0.0.1", 1), 5))
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attempt("udp", lambda: udp.sendto(b"x", ("203.0.113.7", 53)))
        attempt("ipv6", lambda: socket.socket(socket.AF_INET6).connect(("2001:db8::1", 443)))
        attempt("unix socket", lambda: socket.socket(socket.AF_UNIX).connect("/var/run/docker.sock"))
        attempt("reverse lookup", lambda: socket.gethostbyaddr("192.0.2.10"))
        attempt("urllib", lambda: urllib.request.urlopen("http://evil.example/", timeout=5))
        plain = http.client.HTTPConnection("evil.example", timeout=5)
        attempt("http.client", lambda: plain.request("GET", "/"))
        attempt("read outside", lambda: open(OUT + "/id_rsa").read())
        attempt("list outside", lambda: os.listdir(OUT))
        dotted = SCRATCH + "/../" + os.path.basename(SCRATCH) + "/data.txt"
        attempt("read allowed", lambda: open(dotted).read())
        attempt("write outside", lambda: open(OUT + "/pwned", "w"))
        attempt("os.open write outside", lambda: os.open(OUT + "/pwned2", os.O_WRONLY | os.O_CREAT))
        attempt("mkdir outside", lambda: os.mkdir(OUT + "/newdir"))
        attempt("delete outside", lambda: os.remove(OUT + "/id_rsa"))
        attempt("rename outside", lambda: os.rename(OUT + "/id_rsa", "/tmp/stolen"))
        attempt("chmod outside", lambda: os.chmod(OUT + "/id_rsa", 0o777))
        def via_symlink():
            link = tempfile.mktemp(dir="/tmp")
            os.symlink(OUT + "/id_rsa", link)
            return open(link).read()
        attempt("symlink in tmp", via_symlink)
        attempt("hard link into tmp", lambda: os.link(OUT + "/id_rsa", tempfile.mktemp(dir="/tmp")))
        def tmp_round_trip():
            with tempfile.TemporaryDirectory() as d:
                os.makedirs(d + "/a/b")
                with open(d + "/a/b/f.txt", "w") as f:
                    f.write("hi")
                return open(d + "/a/b/f.txt").read()
        attempt("tmp round trip", tmp_round_trip)
        attempt("dev null", lambda: open(os.devnull, "w").write("x"))
        attempt("subprocess", lambda: subprocess.run(["true"]))
        attempt("os.system", lambda: os.system("true"))
        attempt("os.fork", lambda: os.fork())
        attempt("posix_spawn", lambda: os.posix_spawn("/bin/true", ["true"], {{}}))
        attempt("execv", lambda: os.execv("/bin/true", ["true"]))
        import multiprocessing.util
        spawn = multiprocessing.util.spawnv_passfds
        attempt("multiprocessing spawn", lambda: spawn("/bin/true", ["true"], ()))
        attempt("ctypes import", lambda: __import__("ctypes"))
        attempt("ctypes backend import", lambda: __import__("_ctypes"))
        attempt("cffi import", lambda: __import__("cffi"))
        attempt("cffi backend import", lambda: __import__("_cffi_backend"))
        attempt("late import", lambda: __import__("xml.dom.minidom").__name__)
        """
        return run_guarded(body, policy=policy, cwd=outside)


def result(run: dict[str, Any], name: str) -> dict[str, Any]:
    value: dict[str, Any] = run["results"][name]
    return value


def assert_refused(run: dict[str, Any], name: str, *fragments: str) -> str:
    outcome = result(run, name)
    assert not outcome["ok"], f"{name} was allowed: {outcome}"
    assert outcome["type"] == "GuardViolation" or "refused" in outcome["error"], outcome
    for fragment in fragments:
        assert fragment in outcome["error"], outcome["error"]
    logged = [message for level, message in run["log"] if level == "error"]
    assert any(message in outcome["error"] for message in logged), "refusal missing from the log"
    return str(outcome["error"])


@pytest.mark.parametrize(
    "name", ["resolve declared", "connect resolved", "connect resolved ip", "connect literal"]
)
def test_declared_endpoints_are_reachable(contract_run: dict[str, Any], name: str) -> None:
    assert result(contract_run, name)["ok"], result(contract_run, name)


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        (
            "resolve undeclared",
            (
                "connection to evil.example:443 refused: not declared in the contract — add a dependency "
                "{protocol: https, host: evil.example} to contract.dependencies",
            ),
        ),
        (
            "gethostbyname undeclared",
            ("resolving evil.example refused", "{protocol: https, host: evil.example}"),
        ),
        (
            "declared name, other port",
            ('api.declared.test is declared ("api") for port(s) 443/TCP only', "port: 8443}"),
        ),
        ("connect by name", ("connection to localhost:80 refused", "{protocol: http, host: localhost}")),
        ("raw ip", ("connection to 192.0.2.10:443 refused: address not resolved from a declared host",)),
        ("resolved ip, other port", ("connection to localhost (127.0.0.1):1 refused", "port: 1}")),
        ("udp", ("UDP datagram to 203.0.113.7:53 refused", 'toCIDR: 203.0.113.7/32, ports: ["53/UDP"]')),
        ("ipv6", ("connection to [2001:db8::1]:443 refused",)),
        ("unix socket", ("local socket '/var/run/docker.sock' refused",)),
        ("reverse lookup", ("reverse lookup of 192.0.2.10 refused",)),
        ("urllib", ("connection to evil.example:80 refused",)),
        ("http.client", ("connection to evil.example:80 refused",)),
    ],
)
def test_undeclared_network_access_is_refused(
    contract_run: dict[str, Any], name: str, fragments: tuple[str, ...]
) -> None:
    assert_refused(contract_run, name, *fragments)


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("read outside", ("reading ", "/id_rsa refused: outside the paths nodes may read")),
        ("list outside", ("listing ",)),
        ("write outside", ("/pwned refused: nodes may write only under /tmp",)),
        ("os.open write outside", ("writing ",)),
        ("mkdir outside", ("creating ",)),
        ("delete outside", ("deleting ",)),
        ("rename outside", ("moving ",)),
        ("chmod outside", ("changing (os.chmod)",)),
        ("symlink in tmp", ("/id_rsa) refused", "(-> ")),
        ("hard link into tmp", ("linking ",)),
    ],
)
def test_files_outside_the_allowed_paths_are_refused(
    contract_run: dict[str, Any], outside: Path, name: str, fragments: tuple[str, ...]
) -> None:
    assert_refused(contract_run, name, *fragments)
    assert (outside / "id_rsa").exists()
    assert not (outside / "pwned").exists() and not (outside / "newdir").exists()


@pytest.mark.parametrize("name", ["tmp round trip", "dev null", "read allowed", "late import"])
def test_allowed_file_use_works(contract_run: dict[str, Any], name: str) -> None:
    assert result(contract_run, name)["ok"], result(contract_run, name)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("subprocess", "starting a process (subprocess.Popen: ['true']) refused"),
        ("os.system", "starting a process (os.system: 'true') refused"),
        ("os.fork", "starting a process (os.fork) refused"),
        ("posix_spawn", "(os.posix_spawn: ['true']) refused"),
        ("execv", "(os.exec: ['true']) refused"),
        ("multiprocessing spawn", "(_posixsubprocess.fork_exec: ['true']) refused"),
        ("ctypes import", "importing ctypes refused: nodes may not load or call native code"),
        ("ctypes backend import", "importing _ctypes refused"),
        ("cffi backend import", "importing _cffi_backend refused"),
        ("cffi import", "importing cffi refused"),
    ],
)
def test_processes_and_native_code_are_refused(
    contract_run: dict[str, Any], name: str, fragment: str
) -> None:
    assert_refused(contract_run, name, fragment)


def test_import_system_probes_are_refused_quietly(outside: Path) -> None:
    # importlib lists every sys.path directory it searches; those refusals are expected and
    # handled there (the module is simply not found), so they must not flood the log.
    run = run_guarded(
        f"""
        import sys
        sys.path.insert(0, {str(outside)!r})
        attempt("import", lambda: __import__("no_such_module_here"))
        attempt("explicit", lambda: os.listdir({str(outside)!r}))
        """,
        policy={"hosts": []},
    )
    assert result(run, "import")["type"] == "ModuleNotFoundError"
    assert_refused(run, "explicit", f"listing {outside} refused")
    assert len([entry for entry in run["log"] if entry[0] == "error"]) == 1, run["log"]


# --- environment, legacy mode, policy updates ---------------------------------------------------


def test_environment_is_scrubbed_to_the_allow_list() -> None:
    run = run_guarded(
        """
        NAMES = ("AWS_SECRET_ACCESS_KEY", "TENTACULAR_X", "OTEL_SERVICE_NAME", "HOME", "TZ")
        attempt("env", lambda: {k: os.environ.get(k) for k in NAMES})
        """,
        policy={"hosts": []},
        env={
            "AWS_SECRET_ACCESS_KEY": "leak",
            "TENTACULAR_X": "kept",
            "OTEL_SERVICE_NAME": "svc",
            "HOME": "/nonexistent",
            "TZ": "UTC",
        },
    )
    assert result(run, "env")["value"] == {
        "AWS_SECRET_ACCESS_KEY": None,
        "TENTACULAR_X": "kept",
        "OTEL_SERVICE_NAME": "svc",
        "HOME": "/nonexistent",
        "TZ": "UTC",
    }


def test_empty_contract_means_no_egress() -> None:
    with http_server() as port:
        run = run_guarded(
            f'import socket\nattempt("local", lambda: socket.create_connection(("127.0.0.1", {port}), 5))',
            policy={"hosts": []},
        )
    assert_refused(run, "local", f"connection to 127.0.0.1:{port} refused")


def test_legacy_mode_leaves_the_network_open_and_warns_once(outside: Path) -> None:
    with http_server() as port:
        run = run_guarded(
            f"""
            import socket, urllib.request
            attempt("http", lambda: urllib.request.urlopen("http://localhost:{port}/x", timeout=5).status)
            attempt("read outside", lambda: open({str(outside / "id_rsa")!r}).read())
            attempt("subprocess", lambda: __import__("subprocess").run(["true"]))
            """,
            policy={"network_restricted": False},
        )
    assert result(run, "http")["value"] == 200
    assert_refused(run, "read outside", "reading")
    assert_refused(run, "subprocess", "starting a process")
    warnings = [message for level, message in run["log"] if level == "warning"]
    assert len(warnings) == 1 and "legacy mode" in warnings[0]


def test_dynamic_target_cidr_allows_any_name_but_checks_address_and_port() -> None:
    with http_server() as port:
        run = run_guarded(
            f"""
            import socket
            attempt("name in cidr", lambda: socket.create_connection(("localhost", {port}), 5).close())
            attempt("ip in cidr", lambda: socket.create_connection(("127.0.0.1", {port}), 5).close())
            attempt("other port", lambda: socket.create_connection(("127.0.0.1", {port + 1}), 5))
            attempt("outside cidr", lambda: socket.create_connection(("192.0.2.1", {port}), 5))
            """,
            policy={"cidrs": [["127.0.0.0/8", port, "TCP", "probe"]]},
        )
    assert result(run, "name in cidr")["ok"], run
    assert result(run, "ip in cidr")["ok"], run
    assert_refused(
        run,
        "other port",
        f"127.0.0.1):{port + 1} refused: 127.0.0.1 is inside 127.0.0.0/8",
        f'("probe") for port(s) {port}/TCP only',
        f'add "{port + 1}/TCP" to the dynPorts of dependency "probe"',
    )
    assert_refused(run, "outside cidr", f"192.0.2.1:{port} refused")


def test_policy_update_follows_a_reloaded_contract() -> None:
    with http_server() as port:
        run = run_guarded(
            f"""
            import socket
            connect = lambda: socket.create_connection(("127.0.0.1", {port}), 5).close()
            attempt("before", connect)
            grant = HostGrant("127.0.0.1", {port}, "TCP", "new")
            GUARD.update_policy(RuntimePolicy(network_restricted=True, hosts=(grant,)))
            attempt("after", connect)
            attempt("second install", GUARD.install)
            """,
            policy={"hosts": []},
        )
    assert_refused(run, "before", "refused")
    assert result(run, "after")["ok"], run
    assert "already installed" in result(run, "second install")["error"]


def test_relative_paths_resolve_against_the_working_directory(outside: Path) -> None:
    run = run_guarded('attempt("relative", lambda: open("id_rsa").read())', policy={"hosts": []}, cwd=outside)
    assert_refused(run, "relative", f"reading {outside / 'id_rsa'} refused")
