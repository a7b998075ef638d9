from __future__ import annotations

import io
import json
import logging

from syndicator import logs
from syndicator.secrets import redact


def test_json_lines_and_secrets_redacted_even_in_tracebacks() -> None:
    stream = io.StringIO()
    redact.add("s3cr3t-value-for-logs")
    logs.setup("debug", "json", stream=stream)
    log = logging.getLogger("syndicator.test")
    log.info("token is %s", "s3cr3t-value-for-logs")
    try:
        raise RuntimeError("failed with s3cr3t-value-for-logs in the URL")
    except RuntimeError:
        log.exception("boom")
    logging.getLogger("httpx").info("HTTP Request: POST https://api/bots3cr3t-value-for-logs/x")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["message"] for r in lines] == ["token is ***", "boom"]
    assert "RuntimeError: failed with *** in the URL" in lines[1]["exception"]
    assert "s3cr3t" not in stream.getvalue()
    logs.setup("info", "text", stream=io.StringIO())
