"""Standalone simulator: ``python -m tests.simulator --port 8443 --plants 3 --seed 1``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import signal
import ssl
import sys
import tempfile
from pathlib import Path

from .app import Simulator
from .config import PROFILES, SimulatorConfig


def make_self_signed(directory: Path, host: str) -> tuple[Path, Path]:
    """Write a self-signed certificate and key for ``host`` into ``directory``."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    alt: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        alt.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt.append(x509.DNSName(host))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(prog="python -m tests.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--plants", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="spec",
        help="cloud-2026: today's cloud (SmartPVMS 26.2); cloud-2026+field: field quirks on top",
    )
    parser.add_argument("--quirk", action="append", default=[], help="enable a quirk")
    parser.add_argument("--no-quirk", action="append", default=[], help="disable a quirk")
    parser.add_argument("--username", default="nbi_user")
    parser.add_argument("--password", default="nbi_pass")
    parser.add_argument("--timezone", default="Europe/Amsterdam")
    parser.add_argument(
        "--devices",
        default="inverter,battery,meter",
        help="comma-separated device kinds per plant "
        "(inverter, string_inverter, battery, lg_battery, meter, power_sensor, emi)",
    )
    parser.add_argument("--no-v7", action="store_true", help="serve the legacy family only")
    parser.add_argument("--tls", action="store_true", help="HTTPS with a self-signed cert")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT/SIGTERM."""
    config = SimulatorConfig(
        plants=args.plants,
        seed=args.seed,
        profile=args.profile,
        username=args.username,
        password=args.password,
        timezone=args.timezone,
        devices=[d.strip() for d in args.devices.split(",") if d.strip()],
        quirks=args.quirk,
        disabled_quirks=args.no_quirk,
        v7_enabled=not args.no_v7,
    )
    sim = Simulator(config)
    ssl_context = None
    with tempfile.TemporaryDirectory(prefix="nbi-sim-") as tmp:
        if args.tls:
            cert, key = make_self_signed(Path(tmp), args.host)
            ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_context.load_cert_chain(cert, key)
        url = await sim.start(args.host, args.port, ssl_context=ssl_context)
        plants = ", ".join(p.code for p in sim.plants)
        print(f"SmartPVMS NBI simulator listening on {url}", flush=True)
        print(f"  username: {sim.username}  password: {sim.password}", flush=True)
        print(f"  profile: {args.profile}  quirks: {sim.quirks.enabled()}", flush=True)
        print(f"  plants: {plants}", flush=True)
        if args.tls:
            print(f"  self-signed certificate: {cert} (use curl -k)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await sim.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
