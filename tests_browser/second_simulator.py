"""Another simulator whose account owns other plants than the dev account's.

``python -m tests_browser.second_simulator PORT USERNAME PASSWORD PLANTS [--first N]
[--profile P]`` serves ``PLANTS`` plants numbered after the ``N`` before them (default:
the dev stack's two, so ``Plant 3``, ``Plant 4`` ...): the same plant in two accounts
would be the same Home Assistant device. The consent page's owner (OAuth) sees the same
plants as the account. Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import get_args

from tests.simulator import Account, Simulator, SimulatorConfig
from tests.simulator.config import Profile
from tests.simulator.oauth import DEFAULT_OWNER

FIRST_ACCOUNT_PLANTS = 2


async def serve(args: argparse.Namespace) -> None:
    """Serve until SIGTERM."""
    plants: list[int | str] = list(range(args.first, args.first + args.plants))
    config = SimulatorConfig(
        plants=args.first + args.plants,
        seed=7,
        profile=args.profile,
        accounts=[Account(args.username, args.password, plants=plants)],
    )
    sim = Simulator(config)
    sim.oauth.add_owner(*DEFAULT_OWNER, plants=plants)
    await sim.start("127.0.0.1", args.port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("username")
    parser.add_argument("password")
    parser.add_argument("plants", type=int)
    parser.add_argument("--first", type=int, default=FIRST_ACCOUNT_PLANTS)
    parser.add_argument("--profile", choices=get_args(Profile), default="spec")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(serve(parse_args()))
