"""Sub-commands of the web group: ``serve`` (the explorer) and ``export-explorer`` (its static page)."""

from __future__ import annotations

import argparse
import gc
import sys

from ..errors import ConfigError


def register(sub, command: str | None = None) -> None:
    """Add this group's sub-commands to the parser (``command``: see :func:`latentlab.cli.build_parser`)."""
    p = sub.add_parser(
        "serve",
        help="serve the latent-space explorer in the browser",
        description="Serve the explorer for the given runs. With no run, train or reuse the demo's 2-D digits "
        "VAE (runs/demo) and AE (runs/demo-ae). Runs are RUN_DIR or NAME=RUN_DIR.",
    )
    p.add_argument("runs", nargs="*", metavar="RUN_DIR", help="run folders to serve, optionally NAME=RUN_DIR")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--root", default="runs", help="where the default demo models live (default runs)")
    p.add_argument("--epochs", type=int, default=None, help="epochs when the default models must be trained")
    p.add_argument(
        "--allow-host",
        action="append",
        default=None,
        metavar="NAME",
        help="also answer requests whose Host header is NAME (repeatable); by default only the bound address's "
        "names are answered (localhost names for 127.0.0.1), which shuts out DNS rebinding. Required with a "
        "--host other than loopback; '*' (any name) is refused without --allow-any-host",
    )
    p.add_argument(
        "--allow-any-host",
        action="store_true",
        help="answer requests with any Host header, accepting the risk of DNS rebinding (any web page the "
        "explorer's users visit could then drive it); a warning is printed",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="close a connection whose request headers are not complete within S seconds (default 10)",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="answer 408 and close a connection whose request body is not complete S seconds after its headers "
        "(default 10)",
    )
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser(
        "export-explorer",
        help="write the explorer as one self-contained offline HTML page",
        description="Write OUT_DIR/index.html: the explorer for the given runs, running in the page with no "
        "server and no network. Usage: RUN_DIR [RUN_DIR...] OUT_DIR (runs may be NAME=RUN_DIR).",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="RUN_DIR [RUN_DIR...] OUT_DIR")
    p.set_defaults(handler=cmd_export)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:  # pragma: no cover
        raise ConfigError("the explorer needs the web extra: pip install 'latentlab[web]'.") from None
    import torch

    from ..web.app import create_app
    from ..web.hosts import serving_hosts
    from ..web.runs import default_runs, load_runs
    from ..web.serving import header_deadline_protocol

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port {args.port} is not a TCP port; use 1..65535.")
    for flag, value in (("--header-timeout", args.header_timeout), ("--body-timeout", args.body_timeout)):
        if not 0 < value <= 3600:  # also refuses NaN
            raise ConfigError(f"{flag} {value} must be between 0 and 3600 seconds.")
    hosts, warning = serving_hosts(args.host, args.allow_host, args.allow_any_host)  # before any model is loaded
    if warning:
        print(warning, file=sys.stderr)
    torch.set_num_threads(1)  # a tiny decode is fastest on one thread; cores go to concurrent requests
    specs = args.runs or default_runs(args.root, epochs=args.epochs)
    entries = load_runs(specs)
    app = create_app(entries, allowed_hosts=hosts, body_timeout=args.body_timeout)
    # Everything loaded so far (torch, the models, the app) lives for the whole process: move it out of the
    # collector's sight, so a full collection walks only per-request garbage instead of ~300k start-up objects
    # (a 150 ms pause that shows up as the p99 latency).
    gc.collect()
    gc.freeze()
    print(f"serving {', '.join(entries)} at http://{args.host}:{args.port}/  (Ctrl-C to stop)")
    uvicorn.run(
        app, host=args.host, port=args.port, log_level="warning", access_log=False,
        http=header_deadline_protocol(args.header_timeout),
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..web.export import export_explorer

    if len(args.paths) < 2:
        raise ConfigError("give at least one RUN_DIR and then OUT_DIR, e.g. export-explorer runs/demo site/.")
    page = export_explorer(args.paths[:-1], args.paths[-1])
    print(f"wrote {page} ({page.stat().st_size // 1024} KiB); open it in a browser, no server needed")
    return 0
