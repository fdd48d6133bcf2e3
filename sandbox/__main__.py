"""Run the sandbox: python -m sandbox serve [--port 8790] [--webhook-url URL] [--traffic N] [--seed S]."""
import argparse
import logging
from pathlib import Path

import uvicorn

from sandbox.app import create_app
from sandbox.webhooks import load_or_create_key, public_key_b64
from sandbox.world import World


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Local Telnyx Call Control simulator.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the simulated API and send webhooks")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8790)
    serve.add_argument("--webhook-url", default="http://127.0.0.1:8000/webhooks/telnyx/")
    serve.add_argument("--key-file", default="var/sandbox-ed25519.key", help="signing key, created if missing")
    serve.add_argument("--api-key", default=None, help="accept only this bearer token (default: any)")
    serve.add_argument("--traffic", type=float, default=0.0, help="simulated new calls per minute (0: none)")
    serve.add_argument("--seed", type=int, default=None,
                       help="repeat a run's traffic (default: a fresh seed); ids differ from run to run either way")
    serve.add_argument("--pace", type=float, default=1.0, help="multiplies every simulated delay")
    key = sub.add_parser("public-key", help="print the base64 public key the portal must trust")
    key.add_argument("--key-file", default="var/sandbox-ed25519.key")
    args = parser.parse_args(argv)

    signing_key = load_or_create_key(Path(args.key_file))
    if args.command == "public-key":
        print(public_key_b64(signing_key))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    world = World(seed=args.seed, media_base_url=f"http://{args.host}:{args.port}")
    logging.getLogger("sandbox").info("seed %s, run %s (--seed %s repeats this run's traffic)", world.seed, world.run_part, world.seed)
    app = create_app(key=signing_key, webhook_url=args.webhook_url, world=world, pace=args.pace,
                     api_key=args.api_key, traffic_rate=args.traffic)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
