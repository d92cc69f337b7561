"""Where things are in a YAML document: the line of every key, sequence item and scalar value.

pySigma's parsed rules no longer know their lines, so findings about them are placed by looking
their key (`id`, `title`, a `tags` entry, a detection field) up in the document's node tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import yaml

from mantissa_log.domain.rule_yaml import load_documents

KeyPath = tuple[str, ...]  # keys from the document root; sequence items by their index ("tags", "2")


@dataclass
class DocumentLines:
    first_line: int
    keys: dict[KeyPath, int] = field(default_factory=dict)  # mapping keys and sequence items
    scalars: list[tuple[KeyPath, int, str]] = field(default_factory=list)  # every scalar value, in order

    def line_of(self, *path: str) -> int | None:
        return self.keys.get(path)

    def items_equal(self, sequence: str, text: str) -> list[int]:
        """Lines of the items of the top-level list `sequence` spelled `text`; failing that, in any case."""
        items = [(line, value) for path, line, value in self.scalars if len(path) == 2 and path[0] == sequence]
        exact = [line for line, value in items if value == text]
        return exact or [line for line, value in items if value.casefold() == text.casefold()]

    def scalars_under(self, top: str) -> Iterator[tuple[KeyPath, int, str]]:
        return ((path, line, value) for path, line, value in self.scalars if path[:1] == (top,))


def _walk(node: yaml.Node, path: KeyPath, out: DocumentLines) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, str(key_node.value))
            out.keys.setdefault(child, key_node.start_mark.line + 1)
            _walk(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, str(index))
            out.keys.setdefault(child, item.start_mark.line + 1)
            _walk(item, child, out)
    elif isinstance(node, yaml.ScalarNode):
        out.scalars.append((path, node.start_mark.line + 1, str(node.value)))


def index_nodes(nodes: list[yaml.Node]) -> list[DocumentLines]:
    """One index per composed document, in order."""
    indexes: list[DocumentLines] = []
    for node in nodes:
        lines = DocumentLines(first_line=node.start_mark.line + 1)
        _walk(node, (), lines)
        indexes.append(lines)
    return indexes


def index_documents(text: str) -> list[DocumentLines]:
    """One index per non-empty YAML document, in order. Raises ValidationFailed for YAML we refuse."""
    return index_nodes(load_documents(text, field="rule").nodes)
