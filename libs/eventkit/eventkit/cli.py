"""The command line every service shares: migrate, serve, asyncapi (plus its own extras)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, TypeAdapter, ValidationError
from uvicorn.server import STARTUP_FAILURE

from eventkit.http_protocol import HttpProtocol
from eventkit.logs import setup_logging
from eventkit.runtime import ServiceRuntime
from eventkit.settings import ServiceSettings
from eventkit.tracing import setup_tracing

ModelT = TypeVar("ModelT", bound=BaseModel)

Extra = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[Any], int]]


def configure_logging(level: str, service: str = "") -> None:
    """Root logging on stderr, JSON or text (`eventkit.logs`, `LOG_FORMAT`)."""
    setup_logging(level, service)
    # aiokafka logs every coordinator hiccup at INFO/WARNING, the Stripe SDK and httpx every
    # request at INFO; keep service logs and command output readable (DEBUG shows them all).
    libraries = logging.DEBUG if str(level).upper() == "DEBUG" else logging.WARNING
    for noisy in ("aiokafka", "stripe", "httpx"):
        logging.getLogger(noisy).setLevel(libraries)


def command_logging(settings: ServiceSettings, service: str) -> None:
    """A command line (not `serve`) logs warnings and errors only: its answer is what it
    prints, and a close or an import would bury it under a line per Stripe page. A level set
    in the environment (`<SERVICE>_LOG_LEVEL=INFO`) still applies."""
    explicit = "log_level" in settings.model_fields_set
    configure_logging(settings.log_level if explicit else "WARNING", service)


def service_main(
    name: str,
    *,
    settings: Callable[[], ServiceSettings],
    runtime: Callable[[ServiceSettings], ServiceRuntime] | None = None,
    app: Callable[[ServiceRuntime], FastAPI] | None = None,
    migrations: Path | None = None,
    extras: tuple[Extra, ...] = (),
    argv: list[str] | None = None,
) -> int:
    """Run one command of service `name`. `runtime`, `app` and `migrations` default to what the
    layout every service shares puts there: `<name>.bootstrap`'s `build_runtime` and `build_app`,
    and the package's `migrations/`."""
    if runtime is None or app is None:
        bootstrap = importlib.import_module(f"{name}.bootstrap")
        runtime = runtime or bootstrap.build_runtime
        app = app or bootstrap.build_app
    if migrations is None:
        migrations = Path(str(importlib.import_module(name).__file__)).parent / "migrations"
    parser = argparse.ArgumentParser(prog=f"python -m {name}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply this service's Alembic migrations")
    sub.add_parser("serve", help="run HTTP, consumers, relay and workers in one process")
    doc = sub.add_parser("asyncapi", help="print the service's AsyncAPI document (JSON)")
    doc.add_argument("--output", type=Path)
    handlers: dict[str, Callable[[Any], int]] = {}
    for command, help_text, configure, handler in extras:
        configure(sub.add_parser(command, help=help_text))
        handlers[command] = handler
    args = parser.parse_args(argv)

    if args.command in handlers:
        return _stopped_reading_is_fine(handlers[args.command], args)
    if args.command == "asyncapi":
        # Generated from the routing table alone: no environment, no connection.
        spec = runtime(_doc_settings(settings)).asyncapi()
        text = json.dumps(spec, indent=2, sort_keys=True) + "\n"
        return _stopped_reading_is_fine(lambda a: write_output(text, a.output), args)
    config = settings()
    configure_logging(config.log_level, name)
    if args.command == "migrate":
        # Alembic and SQLAlchemy take a third of a service's start-up to import: only here.
        from eventkit.migrations import upgrade

        upgrade(migrations, config.database_url)
        print(f"{name}: migrations applied")
        return 0
    setup_tracing(name)
    service = runtime(config)
    service.settles_heap = True
    server = uvicorn.Config(
        app(service),
        host=config.http_host,
        port=config.http_port,
        http=HttpProtocol,  # a request it cannot parse is refused in the project's error body
        log_level="warning",
        log_config=None,  # uvicorn's lines go through the root handler: JSON like the others
    )
    # The port first, then the consumers (the app's start): a second instance given a port
    # already taken exits here, before it joins a consumer group under the first one's static
    # membership (<SERVICE>_CONSUMER_INSTANCE_ID), which would fence the first.
    sock = server.bind_socket()  # logs why and exits 3 (uvicorn's STARTUP_FAILURE) when taken
    serving = uvicorn.Server(server)
    with contextlib.suppress(KeyboardInterrupt):
        serving.run(sockets=[sock])
    # As uvicorn.run: a start that failed (the app's lifespan refused) is the process's failure.
    return 0 if serving.started else STARTUP_FAILURE


def _stopped_reading_is_fine(handler: Callable[[Any], int], args: Any) -> int:
    """A command's output piped into a reader that stopped early (`| head`, `less` quit) ends
    it quietly, as the pipe's SIGPIPE would end any other program (status 141), instead of a
    BrokenPipeError traceback."""
    try:
        status = handler(args)
        sys.stdout.flush()  # what is still buffered meets the closed pipe here
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at /dev/null, so that does not fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return status


def write_output(text: str, output: Path | None) -> int:
    """A generated document to the file given (its folder made when missing), else stdout."""
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _doc_settings(factory: Callable[[], ServiceSettings]) -> ServiceSettings:
    cls: Any = factory  # the settings class itself
    return cls.model_construct(database_url="postgresql://docs", kafka_bootstrap="kafka:9092")


def cli_type(annotation: Any, parse: Callable[[str], Any] = str) -> Callable[[str], Any]:
    """An argparse `type` that holds a command-line value to the same field type as the API:
    `parse` turns the text into a Python value (int, float), the type's rules judge it, and a
    value they refuse is a usage error (exit 2, one line), never a traceback."""
    adapter = TypeAdapter(annotation)

    def convert(text: str) -> Any:
        try:
            return adapter.validate_python(parse(text))
        except ValidationError as exc:
            raise argparse.ArgumentTypeError(exc.errors()[0]["msg"]) from None
        except (ValueError, OverflowError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def cli_model(model: type[ModelT], **fields: Any) -> ModelT:
    """A command's options held to the API's body model: refused values exit 2 with one line
    (`validation_failed` and the fields), as the API answers 422."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in exc.errors()
        )
        print(f"refused (validation_failed): {problems}", file=sys.stderr)
        raise SystemExit(2) from None
