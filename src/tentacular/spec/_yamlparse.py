"""PyYAML behind ``_yamlsource.parse_yaml``: the marks of every value, and the expansion budget."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from tentacular.spec._yamlsource import MAX_YAML_VALUES, Mark, PathKey, YamlDocument, YamlSyntaxError

try:  # the C loader is several times faster; fall back where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def parse_document(text: str) -> YamlDocument:
    """Parse one YAML document; raise YamlSyntaxError with a position on bad input."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(data=None)
        _check_expansion(node)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        problem_mark = exc.problem_mark or exc.context_mark
        mark = Mark(problem_mark.line + 1, problem_mark.column + 1) if problem_mark else None
        message = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise YamlSyntaxError(message, mark) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), None) from None
    finally:
        loader.dispose()
    document = YamlDocument(data=data)
    for path, key_node, value_node in _walk(node, ()):
        document.value_marks[path] = _mark(value_node)
        if key_node is not None:
            document.key_marks[path] = _mark(key_node)
    return document


def _check_expansion(root: yaml.Node) -> None:
    """Count values as construction and validation would see them, aliases expanded; stop early."""
    pending: list[yaml.Node] = [root]
    seen = 0
    while pending:
        node = pending.pop()
        seen += 1
        if seen > MAX_YAML_VALUES:
            raise YamlSyntaxError(
                f"the document expands to more than {MAX_YAML_VALUES} values (counting every use of an "
                "alias or merge key); the limit keeps validation bounded",
                _mark(node),
                hint="write repeated values out instead of nesting aliases; large data belongs in files "
                "the nodes read",
            )
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                pending.append(key)
                pending.append(value)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(
    node: yaml.Node, path: tuple[PathKey, ...], key_node: yaml.Node | None = None
) -> Iterator[tuple[tuple[PathKey, ...], yaml.Node | None, yaml.Node]]:
    yield path, key_node, node
    if isinstance(node, yaml.MappingNode):
        for child_key, child_value in node.value:
            if isinstance(child_key, yaml.ScalarNode):
                yield from _walk(child_value, (*path, child_key.value), child_key)
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            yield from _walk(child, (*path, index))
