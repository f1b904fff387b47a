"""A document built once as `Section`s and written as Markdown or as plain text.

The report and `optcheck diff` build their output in this model, so that their two
formats (a file or a pull request, and the terminal) cannot drift apart.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field

from tabulate import tabulate


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    wrap: dict[int, int] = field(default_factory=dict)  # column -> width, for the terminal only


@dataclass
class Section:
    """A heading, optional facts (label: value), an optional table and sentences under it."""

    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    table: Table | None = None
    notes: list[str] = field(default_factory=list)


def markdown(title: str, sections: Iterable[Section]) -> str:
    """A Markdown document: the title as `#`, each section as `##`, GitHub tables."""
    parts = [f"# {title}"]
    for section in sections:
        parts.append(f"## {section.title}")
        if section.facts:
            parts.append("\n".join(f"- **{label}:** {value}" for label, value in section.facts))
        if section.table is not None:
            rows = [[_md_cell(cell) for cell in row] for row in section.table.rows]
            headers = [_md_cell(h) for h in section.table.headers]
            parts.append(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))
        parts.extend(section.notes)
    return "\n\n".join(parts) + "\n"


def plain_text(title: str, sections: Iterable[Section]) -> str:
    """The same document as plain text: underlined headings and `simple` tables."""
    parts = [f"{title}\n{'=' * len(title)}"]
    for section in sections:
        block = [f"{section.title}\n{'-' * len(section.title)}"]
        if section.facts:
            width = max(len(label) for label, _ in section.facts) + 1
            block.append("\n".join(f"{label + ':':<{width}} {value}" for label, value in section.facts))
        if section.table is not None:
            block.append(_terminal_table(section.table))
        block.extend(textwrap.fill(note, width=100) for note in section.notes)
        parts.append("\n\n".join(block))
    return "\n\n".join(parts) + "\n"


def _md_cell(text: str) -> str:
    """A cell that cannot break the table: pipes escaped, line breaks flattened."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _terminal_table(table: Table) -> str:
    rows = [
        [textwrap.fill(cell, width=table.wrap[i]) if i in table.wrap else cell for i, cell in enumerate(row)]
        for row in table.rows
    ]
    return tabulate(rows, headers=table.headers, tablefmt="simple", disable_numparse=True)
