"""Simulator: the standalone server (``python -m tests.simulator``)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
async def test_standalone_server(socket_enabled: None, tls: bool) -> None:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "tests.simulator",
        "--port",
        str(port),
        "--plants",
        "3",
        "--seed",
        "1",
    ]
    if tls:
        args.append("--tls")
    proc = subprocess.Popen(  # noqa: ASYNC220
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(4)]
        scheme = "https" if tls else "http"
        url = f"{scheme}://127.0.0.1:{port}"
        assert banner[0].strip() == f"SmartPVMS NBI simulator listening on {url}", banner
        assert "username: nbi_user  password: nbi_pass" in banner[1]
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
            async with session.post(
                url + "/thirdData/login", json={"userName": "nbi_user", "systemCode": "nbi_pass"}
            ) as response:
                assert (await response.json())["success"] is True
                token = response.headers["xsrf-token"]
            async with session.post(
                url + "/thirdData/getStationRealKpi",
                json={"stationCodes": "NE=33554432,NE=33554496,NE=33554560"},
                headers={"XSRF-TOKEN": token},
            ) as response:
                body = await response.json()
                assert body["success"] is True
                assert len(body["data"]) == 3
            async with session.post(
                url + "/rest/openapi/pvms/v1/login",
                json={"username": "nbi_user", "password": "nbi_pass"},
            ) as response:
                token = response.headers["xsrf-token"]
            async with session.post(
                url + "/rest/openapi/pvms/v1/vpp/plantRealtimeKpi",
                json={"plantCodes": "NE=33554432"},
                headers={"XSRF-TOKEN": token},
            ) as response:
                body = await response.json()
                assert "pvPower" in body["data"][0]["dataItemMap"]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert proc.returncode == 0
