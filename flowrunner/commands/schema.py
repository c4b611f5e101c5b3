"""`flowrunner schema`: print the JSON Schema of flow files (for editors and CI), or write all
three (flows, pieces, flow tests) into a folder editors can point at from anywhere."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..flow.schema import schema_document

KINDS = {"flow": "flow files", "flow-piece": "piece files", "flow-test": "flow test files"}


def main(args: argparse.Namespace) -> int:
    if args.write is None:
        print(json.dumps(schema_document(args.kind), indent=2))
        return 0
    folder = Path(args.write).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind in KINDS:
        path = folder / f"{kind}.schema.json"
        path.write_text(json.dumps(schema_document(kind), indent=2) + "\n", encoding="utf-8")
        written[kind] = path
    for kind, path in written.items():
        print(f"{KINDS[kind]}: # yaml-language-server: $schema={path.as_uri()}")
    return 0
