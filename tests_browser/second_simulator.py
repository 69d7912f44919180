"""A second simulator whose account owns other plants than the dev account's.

``python -m tests_browser.second_simulator PORT USERNAME PASSWORD PLANTS`` serves
``PLANTS`` plants numbered after the dev stack's two (``Plant 3``, ``Plant 4`` ...),
so their plant codes differ from the first account's: the same plant in two accounts
would be the same Home Assistant device. Runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from tests.simulator import Account, Simulator, SimulatorConfig

FIRST_ACCOUNT_PLANTS = 2


async def serve(port: int, username: str, password: str, plants: int) -> None:
    """Serve until SIGTERM."""
    total = FIRST_ACCOUNT_PLANTS + plants
    config = SimulatorConfig(
        plants=total,
        seed=7,
        accounts=[Account(username, password, plants=list(range(FIRST_ACCOUNT_PLANTS, total)))],
    )
    sim = Simulator(config)
    await sim.start("127.0.0.1", port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.stop()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])))
