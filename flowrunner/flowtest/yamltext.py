"""Values as a flow test writes them: compact YAML on one line (`{media: sound:hello}`, `null`,
`true`, `'42'` for the text 42), never Python's reprs, so a line can be copied into a test."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML

_YAML = YAML(typ="safe", pure=True)
_YAML.default_flow_style = True
_YAML.width = 1_000_000  # one line, however long
_YAML.allow_unicode = True
_YAML.representer.sort_base_mapping_type_on_output = False  # in the order sent


def yaml_text(value: Any) -> str:
    """`value` in YAML's flow style, on one line; what ruamel reads back as `value`."""
    out = io.StringIO()
    _YAML.dump(value, out)
    text = out.getvalue()
    return text.removesuffix("\n").removesuffix("\n...").replace("\n", " ")
