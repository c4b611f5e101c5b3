"""TEMPORARY shim while ari/session.py is being worked on: the types now live in ports.py."""

from ..ports import Done, Params, Request, Response, Transport

AriRequest = Request
AriResponse = Response
__all__ = ["AriRequest", "AriResponse", "Done", "Params", "Transport"]
