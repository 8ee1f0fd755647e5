"""The one YAML loader for files people write: playbooks, scenarios and KB front matter.

``yaml.safe_load`` builds no arbitrary objects, but it still accepts things that break us or
hide mistakes, so every YAML entry point loads through here instead:

- input that is not UTF-8 text is refused, naming the line of the first bad byte (instead of a
  UnicodeDecodeError);
- a file over its size limit is refused before it is parsed;
- nesting deeper than ``MAX_DEPTH`` levels is refused at its line (PyYAML composes nodes
  recursively, so a pasted ``[[[[…`` would end in a RecursionError);
- a key written twice in one mapping is refused naming both lines (PyYAML keeps the last one
  silently, so an author's first value would vanish);
- anchors and aliases (``&name`` / ``*name``) are refused: no shipped file needs them and they
  let a few lines expand into an exponential document.

Each refusal is a ``YamlFileError`` whose message names the file, the line (and key when there is
one) and what was expected.
"""

import io
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

# How deep mappings and lists may nest. The deepest shipped playbook uses 6 levels, a scenario
# 4; 32 leaves authors room while staying far below Python's recursion limit.
MAX_DEPTH = 32
# Size limits, in bytes of the file (UTF-8). The largest shipped playbook is ~31 KB and the
# largest scenario ~1 KB.
PLAYBOOK_MAX_BYTES = 200_000
SCENARIO_MAX_BYTES = 64_000


class YamlFileError(ValueError):
    """A YAML file refused: ``source`` is the file, ``line`` (1-based) and ``key`` where known."""

    def __init__(
        self,
        source: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        key: str = "",
    ):
        self.source, self.message, self.key = source, message, key
        self.line, self.column = line, column
        super().__init__(str(self))

    @property
    def location(self) -> str:
        """Where in the file: "line 3, column 1, key user" (parts unknown are left out)."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        if self.key:
            parts.append(f"key {self.key}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{self.source}: {where}{self.message}"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with the depth, duplicate-key and alias rules of this module."""

    def __init__(self, stream: str, *, source: str, max_depth: int):
        super().__init__(stream)
        self.source = source
        self.max_depth = max_depth
        self.depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YamlFileError(
                self.source,
                f"alias *{event.anchor} is not supported; write the value out in full",
                line=event.start_mark.line + 1,
            )
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                event = self.peek_event()
                raise YamlFileError(
                    self.source,
                    f"nested deeper than {self.max_depth} levels; expected a flatter structure",
                    line=event.start_mark.line + 1,
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict:
        first_line: dict[Any, int] = {}
        for key_node, _value in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            try:
                earlier = first_line.get(key)
            except TypeError:  # an unhashable key: SafeConstructor reports it below
                continue
            if earlier is not None:
                raise YamlFileError(
                    self.source,
                    f"duplicate key (first written on line {earlier}); expected each key once",
                    line=line,
                    key=str(key),
                )
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def decode_yaml_bytes(data: bytes, *, source: str, max_bytes: int) -> str:
    """The file's text: UTF-8, universal newlines. Raises YamlFileError when it is over
    ``max_bytes`` or not UTF-8 (naming the line of the first bad byte)."""
    if len(data) > max_bytes:
        raise YamlFileError(
            source, f"the file is {len(data):,} bytes; expected at most {max_bytes:,} bytes"
        )
    try:
        return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlFileError(
            source,
            f"byte 0x{data[exc.start]:02x} is not UTF-8 text; expected a UTF-8 encoded file",
            line=line,
        ) from None


def load_yaml_text(text: str, *, source: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parses ``text`` safely with the rules above. Raises YamlFileError."""
    loader = _StrictLoader(text, source=source, max_depth=max_depth)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        raise YamlFileError(
            source,
            f"expected valid YAML ({problem})",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise YamlFileError(source, f"expected valid YAML ({exc})") from None
    finally:
        loader.dispose()


def read_yaml_file(path: str | Path, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Reads and parses one YAML file. Raises YamlFileError for an unreadable, oversized,
    non-UTF-8 or refused file."""
    text = read_yaml_text(path, max_bytes=max_bytes)
    return load_yaml_text(text, source=str(path), max_depth=max_depth)


def read_yaml_text(path: str | Path, *, max_bytes: int) -> str:
    """The text of one YAML file, checked for size (before reading it) and encoding."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise YamlFileError(
                str(path), f"the file is {size:,} bytes; expected at most {max_bytes:,} bytes"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise YamlFileError(str(path), f"cannot read the file ({exc.strerror})") from None
    return decode_yaml_bytes(data, source=str(path), max_bytes=max_bytes)
