"""eventkit.logs.Repeats: the Kafka client's repeated lines thinned while a broker is away; the
services' own lines untouched."""

from __future__ import annotations

import io
import json
import logging

from eventkit.logs import Repeats, setup_logging


def _record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_a_client_line_goes_out_once_a_window_with_how_many_were_left_out() -> None:
    now = [0.0]
    repeats = Repeats(window=10, clock=lambda: now[0])
    passed = []
    for second in range(25):
        now[0] = float(second)
        for node in (1, 2, 3, 4):  # many a second, with different arguments
            record = _record("aiokafka.conn", "Unable connect to node with id %s", node)
            if repeats.filter(record):
                passed.append((second, getattr(record, "repeated", 0)))
    assert passed == [(0, 0), (10, 39), (20, 39)]
    other = _record("aiokafka.consumer.fetcher", "Failed fetch messages from %s", 1)
    assert repeats.filter(other)  # another kind of line has its own window


def test_the_services_own_lines_all_go_out_through_the_root_handler() -> None:
    stream = io.StringIO()
    setup_logging("INFO", "svc", fmt="json", stream=stream)
    try:
        for _ in range(5):
            logging.getLogger("eventkit.consumer").error("payments: dead-lettering %s", "x")
            logging.getLogger("aiokafka.conn").error("Unable connect to node with id %s", 1)
    finally:
        setup_logging("WARNING", "svc", fmt="json", stream=io.StringIO())
    loggers = [json.loads(line)["logger"] for line in stream.getvalue().splitlines()]
    assert loggers.count("eventkit.consumer") == 5 and loggers.count("aiokafka.conn") == 1
