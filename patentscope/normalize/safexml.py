"""XML parsed without DTDs, entity declarations or external entities (one copy for every XML source).

defusedxml refuses a document that declares a DTD or an entity (billion laughs, external
entities: XXE) before anything is expanded or fetched; a document that is not well formed is
refused with the line and column expat stopped at. Both become :class:`RowError` naming the file,
so an ingest quarantines the file and goes on with the others.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET
from defusedxml.ElementTree import DefusedXMLParser

from ..errors import RowError


class _LineTree(TreeBuilder):
    """A tree builder that remembers the line each element starts on."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, int] = {}
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        el = super().start(tag, attrs)
        expat = getattr(self.parser, "parser", None)
        self.lines[id(el)] = int(getattr(expat, "CurrentLineNumber", 0) or 0)
        return el


def parse(data: bytes, name: str, *, what: str, with_lines: bool = False) -> tuple[Element, dict[int, int]]:
    """(root, {id(element): line}) of ``data``; raises RowError(file=name) when refused or malformed.

    ``what`` names the expected document in the message ("an OPS response"); ``with_lines``
    records the start line of every element (empty map otherwise)."""
    try:
        if not with_lines:
            root: Element = DefusedET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
            return root, {}
        tree = _LineTree()
        parser = DefusedXMLParser(target=tree, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        tree.parser = parser
        parser.feed(data)
        return parser.close(), tree.lines
    except DefusedXmlException as e:
        raise RowError(name, 1, f"refused: the XML declares a DTD or entities ({type(e).__name__}); "
                                "entity expansion and external entities are never processed") from None
    except DefusedET.ParseError as e:
        line, col = getattr(e, "position", (1, 0))
        raise RowError(name, max(1, int(line)), f"not well-formed XML at line {line}, column {col} "
                                                f"(truncated or not {what})") from None
