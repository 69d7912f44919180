"""Run the simulator and a real Home Assistant with the integration (``scripts/develop``).

``python -m dev.develop [--config config] [--port 8123] [--sim-port 8443]`` starts
``python -m tests.simulator`` and ``python -m homeassistant`` (both on 127.0.0.1),
onboards and configures Home Assistant on the first run (dev/bootstrap.py), prints
the URL and the login, then shows Home Assistant's log until Ctrl-C stops both.
``DevStack`` is also what the browser tests use, on free ports and a fresh config.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from .bootstrap import (
    DEV_PASSWORD,
    DEV_USERNAME,
    Account,
    BootstrapResult,
    async_bootstrap,
    async_switch_to_imported,
)
from .config import REPO, prepare

HOST = "127.0.0.1"
RESTART_EXIT_CODE = 100  # Home Assistant asks its supervisor to restart it
TOKEN_FILE = ".dev-token"
HISTORY_BACKFILL_WAIT = 1800.0  # 30 days for 2 plants within the five-minute data quota


def port_free(port: int) -> bool:
    """Return whether nothing listens on 127.0.0.1:port."""
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) != 0


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for_port(name: str, port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until a process listens on the port."""
    deadline = time.monotonic() + timeout
    while port_free(port):
        if process.poll() is not None:
            raise RuntimeError(f"the {name} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout:.0f} s")
        time.sleep(0.2)


@dataclass
class DevStack:
    """The simulator and Home Assistant as child processes."""

    config_dir: Path
    port: int = 8123
    sim_port: int = 8443
    plants: int = 2
    seed: int = 1
    history_days: int | None = None
    timeout: float = 300
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Home Assistant's URL."""
        return f"http://{HOST}:{self.port}"

    @property
    def sim_url(self) -> str:
        """The simulator's URL (the host to enter in the config flow)."""
        return f"http://{HOST}:{self.sim_port}"

    @property
    def hass_log(self) -> Path:
        """Home Assistant's console output."""
        return self.config_dir / "develop-hass.log"

    def start(self) -> None:
        """Start the simulator, then Home Assistant; return once both listen."""
        for name, port in (("Home Assistant", self.port), ("simulator", self.sim_port)):
            if not port_free(port):
                raise RuntimeError(f"{HOST}:{port} is in use ({name}): is scripts/develop running?")
        if (configured := prepare(self.config_dir, self.port)) != self.port:
            raise RuntimeError(
                f"{self.config_dir}/configuration.yaml uses port {configured}: "
                f"pass --port {configured}"
            )
        self._spawn(
            "simulator",
            [
                *("-m", "tests.simulator", "--host", HOST, "--port", str(self.sim_port)),
                *("--plants", str(self.plants), "--seed", str(self.seed)),
            ],
            self.config_dir / "develop-simulator.log",
        )
        wait_for_port("simulator", self.sim_port, self.processes["simulator"], 60)
        self.start_hass()

    def start_hass(self) -> None:
        """Start (or restart) Home Assistant. Requirements come from scripts/setup --dev."""
        self._spawn(
            "hass",
            ["-m", "homeassistant", "--config", str(self.config_dir), "--skip-pip"],
            self.hass_log,
        )

    def _spawn(self, name: str, args: list[str], log_path: Path) -> None:
        log = log_path.open("ab")
        self._logs.append(log)
        self.processes[name] = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children
        )

    def alive(self) -> bool:
        """Return whether both processes still run."""
        return all(process.poll() is None for process in self.processes.values())

    def bootstrap(self) -> tuple[BootstrapResult, str]:
        """Onboard and configure as needed; return the result and a long-lived token.

        Runs its own event loop in a worker thread, so callers may have one (Playwright).
        """
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._async_bootstrap()).result()

    async def _async_bootstrap(self) -> tuple[BootstrapResult, str]:
        result, api, session = await async_bootstrap(
            self.url,
            Account(self.sim_url),
            history_days=self.history_days,
            seconds=self.timeout,
            alive=self.alive,
        )
        try:
            token_file = self.config_dir / TOKEN_FILE
            if not token_file.exists():
                token = await api.create_long_lived_token(f"scripts/develop {time.time():.0f}")
                token_file.write_text(token, encoding="utf-8")
                token_file.chmod(0o600)
            return result, token_file.read_text(encoding="utf-8").strip()
        finally:
            await session.close()

    def stop(self) -> None:
        """Stop Home Assistant first (it logs out of the simulator), then the simulator."""
        for name in ("hass", "simulator"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=60)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                process.kill()  # stuck, or a second Ctrl-C: do not leave it running
                process.wait()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> Self:
        """Start the stack."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the stack."""
        self.stop()


def follow(path: Path, stack: DevStack, quiet: bool) -> Iterator[int]:
    """Print new lines of Home Assistant's output; yield its exit code when it exits."""
    with path.open("rb") as log:
        log.seek(0, os.SEEK_END)
        while True:
            chunk = log.read()
            if chunk and not quiet:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            if (code := stack.processes["hass"].poll()) is not None:
                yield code
            elif stack.processes["simulator"].poll() is not None:
                raise RuntimeError("the simulator exited; see config/develop-simulator.log")
            time.sleep(0.5)


def switch_energy_later(url: str, token: str) -> None:
    """In the background, point the Energy dashboard at the imported history once complete."""

    def run() -> None:
        with contextlib.suppress(Exception):
            if done := asyncio.run(async_switch_to_imported(url, token, HISTORY_BACKFILL_WAIT)):
                print(f"\nscripts/develop: Energy dashboard {done}\n", flush=True)

    threading.Thread(target=run, name="energy-switch", daemon=True).start()


def banner(stack: DevStack, result: BootstrapResult) -> str:
    """What to tell the developer once everything runs."""
    done = []
    if result.onboarded:
        done.append("onboarded")
    if result.entry_added:
        done.append(f"added the simulator account ({stack.sim_url})")
    done.append(f"Energy dashboard {result.energy}")
    if result.history_pending:
        done.append("switches to the imported history when its backfill is done")
    return "\n".join(
        (
            "",
            f"Home Assistant is running: {stack.url}",
            f"  login: {DEV_USERNAME} / {DEV_PASSWORD}",
            f"  {result.entity_count} FusionSolar entities; {', '.join(done)}",
            f"  simulator: {stack.sim_url} (nbi_user / nbi_pass), "
            f"admin API {stack.sim_url}/_sim/state",
            f"  API token: {stack.config_dir / TOKEN_FILE}, e.g.",
            f'    curl -H "Authorization: Bearer $(cat {stack.config_dir / TOKEN_FILE})" '
            f"{stack.url}/api/states",
            f"  logs: {stack.hass_log}, {stack.config_dir / 'develop-simulator.log'}",
            "Ctrl-C stops Home Assistant and the simulator.",
            "",
        )
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(prog="scripts/develop", description=__doc__)
    parser.add_argument("--config", type=Path, default=REPO / "config", help="config directory")
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant's HTTP port")
    parser.add_argument("--sim-port", type=int, default=8443, help="the simulator's port")
    parser.add_argument("--plants", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--history-days",
        type=int,
        default=7,
        help="days of energy history to import when the integration is added (default 7)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not show Home Assistant's log")
    return parser.parse_args(argv)


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run until Ctrl-C (or SIGTERM); restart Home Assistant when it asks to."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    stack = DevStack(
        args.config.resolve(),
        args.port,
        args.sim_port,
        plants=args.plants,
        seed=args.seed,
        history_days=args.history_days,
    )
    print(f"Starting the simulator ({stack.sim_url}) and Home Assistant ({stack.url}) ...")
    try:
        with stack:
            result, token = stack.bootstrap()
            print(banner(stack, result), flush=True)
            if result.history_pending:
                switch_energy_later(stack.url, token)
            for code in follow(stack.hass_log, stack, args.quiet):
                if code != RESTART_EXIT_CODE:
                    print(f"Home Assistant exited with {code}")
                    return code
                print("Home Assistant restarts ...", flush=True)
                stack.start_hass()
    except KeyboardInterrupt:
        print("\nStopping Home Assistant and the simulator ...", flush=True)
    except RuntimeError as err:
        print(f"scripts/develop: {err}", file=sys.stderr)
        with contextlib.suppress(OSError):
            tail = stack.hass_log.read_text(errors="replace").splitlines()[-20:]
            print("\n".join(tail), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
