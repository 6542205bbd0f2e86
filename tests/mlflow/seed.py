"""Registers the benchmark's prompt in a running MLflow server (MLFLOW_TRACKING_URI), points the
`production` alias at it, then loads it back the way an application would
(`mlflow.genai.load_prompt("prompts:/NAME@production")`, cache off) while recording every HTTP
request the client makes, so the benchmark drives the request that load_prompt really sends.

Prints `key=value` lines on stdout; tests/mlflow/serve.sh passes them on.
"""

import sys
import threading
import warnings
from urllib.parse import urlsplit

import mlflow
import requests

NAME = sys.argv[1] if len(sys.argv) > 1 else "support-refund-reply"
# The same text as the Promptdesk benchmark's prompt, in MLflow's {{ var }} syntax.
TEMPLATE = (
    "Hello {{ customer_name }},\n\nThank you for contacting us about order {{ order_id }}. "
    "Refunds go back to the original payment method within 30 days.\n\nBest regards,\n"
    "The support team"
)

warnings.simplefilter("ignore")
genai = getattr(mlflow, "genai", None)
register = getattr(genai, "register_prompt", None) or mlflow.register_prompt
set_alias = getattr(genai, "set_prompt_alias", None) or mlflow.set_prompt_alias
load = getattr(genai, "load_prompt", None) or mlflow.load_prompt

version = register(name=NAME, template=TEMPLATE, commit_message="first")
set_alias(NAME, alias="production", version=version.version)

seen = []
original = requests.Session.request


def recording(self, method, url, *args, **kwargs):
    params = kwargs.get("params")
    parts = urlsplit(url)
    query = "&".join(f"{k}={v}" for k, v in (params or {}).items()) or parts.query
    if not url.startswith(mlflow.get_tracking_uri()):
        return original(self, method, url, *args, **kwargs)
    line = f"{method} {parts.path}" + (f"?{query}" if query else "")
    thread = threading.current_thread()
    # load_prompt answers after its own requests; what it starts in threads (linking the prompt
    # to the active experiment) is recorded apart.
    seen.append((thread is threading.main_thread(), line))
    return original(self, method, url, *args, **kwargs)


requests.Session.request = recording
try:
    loaded = load(f"prompts:/{NAME}@production", cache_ttl_seconds=0)
    for t in threading.enumerate():
        if t is not threading.current_thread() and not t.daemon:
            t.join(timeout=30)
finally:
    requests.Session.request = original
assert loaded.template == TEMPLATE, loaded.template

print(f"version={mlflow.__version__}")
print(f"prompt={NAME}")
print(f"prompt_version={version.version}")
inline = [r for main, r in seen if main]
background = [r for main, r in seen if not main]
print(f"load_prompt_requests={len(inline)}")
for i, r in enumerate(inline):
    print(f"load_prompt_request_{i + 1}={r}")
print(f"load_prompt_background_requests={len(background)}")
for i, r in enumerate(background):
    print(f"load_prompt_background_request_{i + 1}={r}")
