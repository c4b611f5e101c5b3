"""`flowrunner schema`: print the JSON Schema of flow files (for editors and CI)."""

from __future__ import annotations

import argparse
import json

from ..flow.schema import schema_document


def main(args: argparse.Namespace) -> int:
    print(json.dumps(schema_document(args.kind), indent=2))
    return 0
