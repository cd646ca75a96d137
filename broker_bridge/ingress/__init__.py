"""The HTTP ingress: accept CloudEvents from any HTTP client, lose none.

``create_app`` builds the ASGI app (Starlette) over an asyncio publisher;
``serve`` runs it on uvicorn with graceful shutdown (``eventfn ingress``, wired in
``broker_bridge.commands.ingress``). See docs/ingress.md for the HTTP contract.
"""

from broker_bridge.ingress.app import FunctionLookup, IngressPublisher, create_app
from broker_bridge.ingress.server import serve

__all__ = ["FunctionLookup", "IngressPublisher", "create_app", "serve"]
