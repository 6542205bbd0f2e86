"""The real Langfuse Python SDK against a Promptdesk server.

Run by src-tauri/crates/server/tests/langfuse_sdk.rs (through tests/langfuse/run.sh), which
starts the server and releases versions between the phases, and by the browser suite's team test
(phase "production"). Prints one JSON object: what the
SDK saw, for the Rust side to check.
"""
import json
import sys

from langfuse import Langfuse

host, public_key, secret_key, phase = sys.argv[1:5]
lf = Langfuse(public_key=public_key, secret_key=secret_key, host=host, tracing_enabled=False)
seen = {}

if phase == "before":
    seen["auth"] = lf.auth_check()
    text = lf.get_prompt("support/refund-reply", label="production", cache_ttl_seconds=0)
    seen["text"] = {"version": text.version, "prompt": text.prompt,
                    "compiled": text.compile(customer_name="Ada"), "config": text.config,
                    "labels": text.labels}
    chat = lf.get_prompt("support/triage", label="production", type="chat", cache_ttl_seconds=0)
    seen["chat"] = {"version": chat.version, "compiled": chat.compile(topic="refunds")}
    # The SDK's own create: a new version with an unprotected label.
    made = lf.create_prompt(name="support/triage", type="chat", labels=["staging"],
                            prompt=[{"role": "system", "content": "Sort the {{topic}} message."}])
    seen["created"] = {"version": made.version, "labels": made.labels}
    try:
        lf.get_prompt("support/missing", cache_ttl_seconds=0, max_retries=0)
        seen["missing"] = "found?"
    except Exception as e:  # the SDK raises its NotFoundError
        seen["missing"] = type(e).__name__
elif phase == "after":
    text = lf.get_prompt("support/refund-reply", cache_ttl_seconds=0)  # production by default
    seen["text"] = {"version": text.version, "prompt": text.prompt}
elif phase == "production":
    # What an application sees of one prompt (argv[5]) by its production label.
    got = lf.get_prompt(sys.argv[5], label="production", cache_ttl_seconds=0)
    seen["production"] = {"version": got.version, "prompt": got.prompt, "labels": got.labels}
else:
    sys.exit(f"unknown phase {phase}")

print(json.dumps(seen))
