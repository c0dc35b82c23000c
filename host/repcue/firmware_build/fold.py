"""Constant folding across the firmware's modules, for the bundle.

MicroPython folds a `NAME = const(3)` only inside its own module. A public const stays a
module global (a dict entry and an interned name, in the heap), and `op.ST_OK` in another
module is two lookups at run time: the firmware's 240-odd wire, event and layout constants
cost a board some KB of RAM. The bundle is built from sources where each use of another
firmware module's const (`alias.NAME`, or NAME imported by name) is replaced by its value,
and a public const that nothing outside its module uses any more is renamed private
(`_NAME`), which the compiler then drops. The files in firmware/ are not touched: the host
and the tests import them as they are (the host needs the public names).

Only what can be proven is folded: a const whose value evaluates to an int from literals
and other consts; an alias bound to one firmware module throughout its file; a name never
assigned anywhere else. Everything else is left as written. link_check() then proves no
module refers to a name the fold made private.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

from repcue.errors import BuildError

_BINARY: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
    ast.BitXor: operator.xor,
}
_UNARY: dict[type, Callable[[int], int]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
}


@dataclass
class _Module:
    name: str
    tree: ast.Module
    stores: dict[str, int] = field(default_factory=dict)  # name -> times bound in the file
    consts: dict[str, int] = field(default_factory=dict)  # public const name -> value
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> firmware module
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (module, const)


def _int_value(node: ast.expr, known: dict[str, int]) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        return known.get(node.id)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _int_value(node.left, known), _int_value(node.right, known)
        if left is None or right is None:
            return None
        try:
            return _BINARY[type(node.op)](left, right)
        except (ZeroDivisionError, ValueError):
            return None
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        value = _int_value(node.operand, known)
        return None if value is None else _UNARY[type(node.op)](value)
    return None


def _const_call(node: ast.stmt) -> tuple[str, ast.expr] | None:
    """`NAME = const(expr)` at the top of a module: (NAME, expr)."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
        return None
    target, value = node.targets[0], node.value
    if not (isinstance(target, ast.Name) and isinstance(value, ast.Call)):
        return None
    if not (isinstance(value.func, ast.Name) and value.func.id == "const" and len(value.args) == 1):
        return None
    return target.id, value.args[0]


def _stored_names(tree: ast.Module) -> dict[str, int]:
    """How often each name is bound in the file (assignments, arguments, loops, imports...)."""
    counts: dict[str, int] = {}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.append(node.id)
        elif isinstance(node, ast.arg):
            names.append(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.extend(node.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.extend((a.asname or a.name).split(".")[0] for a in node.names)
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _absolute(node: ast.ImportFrom) -> str:
    # the firmware imports absolutely; a relative import names no module the fold knows
    return "" if node.level else node.module or ""


def _read(sources: dict[str, str]) -> dict[str, _Module]:
    modules: dict[str, _Module] = {}
    for name, text in sources.items():
        try:
            tree = ast.parse(text)
            modules[name] = _Module(name, tree, _stored_names(tree))
        except SyntaxError as err:
            raise BuildError(f"{name}: line {err.lineno}: {err.msg}") from err
    # consts: in file order, a const may use the public ones above it
    for mod in modules.values():
        stores = mod.stores
        for stmt in mod.tree.body:
            found = _const_call(stmt)
            if found is None or found[0].startswith("_") or stores[found[0]] != 1:
                continue
            value = _int_value(found[1], mod.consts)
            if value is not None:
                mod.consts[found[0]] = value
    for mod in modules.values():
        bound: dict[str, set[str]] = {}
        stores = mod.stores
        for node in ast.walk(mod.tree):  # imports in functions too (lazy ones)
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname and a.name in modules:
                        bound.setdefault(a.asname, set()).add(a.name)
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(node)
                for a in node.names:
                    local = a.asname or a.name
                    if f"{source}.{a.name}" in modules:
                        bound.setdefault(local, set()).add(f"{source}.{a.name}")
                    elif (
                        source in modules
                        and a.name in modules[source].consts
                        and stores.get(local) == 1  # bound by this import alone
                    ):
                        mod.imported[local] = (source, a.name)
        # an alias bound once, to one module (a name imported twice the same way is fine)
        mod.aliases = {
            local: next(iter(targets))
            for local, targets in bound.items()
            if len(targets) == 1 and stores.get(local) == len(_imports_of(mod.tree, local))
        }
    return modules


def _imports_of(tree: ast.Module, local: str) -> list[ast.alias]:
    return [
        a
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for a in node.names
        if (a.asname or a.name) == local
    ]


class _Edits:
    """Text replacements by (line, column) spans, applied from the end of the file."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line.encode()))
        self.data = text.encode()
        self.spans: list[tuple[int, int, str]] = []

    def _offset(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col  # ast columns are UTF-8 byte offsets

    def replace(self, node: ast.AST, text: str) -> None:
        start = self._offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self._offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        self.spans.append((start, end, text))

    def apply(self) -> str:
        data = self.data
        last = len(data) + 1
        for start, end, text in sorted(self.spans, reverse=True):
            if end > last:
                raise BuildError("overlapping edits in the constant fold")  # a bug here
            data = data[:start] + text.encode() + data[end:]
            last = start
        return data.decode()


def _literal(value: int, parent: ast.AST | None) -> str:
    # `(3).bit_length()`, `-(1)`: a bare literal would not parse or bind the same way
    if value < 0 or isinstance(parent, (ast.Attribute, ast.UnaryOp, ast.BinOp, ast.Subscript)):
        return f"({value})"
    return str(value)


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _fold_uses(mod: _Module, modules: dict[str, _Module], text: str) -> str:
    edits = _Edits(text)
    parents = _parents(mod.tree)
    for node in ast.walk(mod.tree):
        value: int | None = None
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name)
            and node.value.id in mod.aliases
        ):
            value = modules[mod.aliases[node.value.id]].consts.get(node.attr)
        elif (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id in mod.imported
        ):
            source, const = mod.imported[node.id]
            value = modules[source].consts[const]
        if value is not None:
            edits.replace(node, _literal(value, parents.get(node)))
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.ImportFrom) and any(
            a.asname or a.name in mod.imported for a in node.names
        ):
            kept = [a for a in node.names if (a.asname or a.name) not in mod.imported]
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in kept)
            edits.replace(node, f"from {_absolute(node)} import {names}" if kept else "pass")
    return edits.apply()


def _names_in_use(folded: dict[str, str]) -> set[str]:
    """Every attribute name, imported name and string in the folded sources: a const whose
    name is among them may still be looked up from outside its module (conservatively: by
    any module, as any object's attribute, or by getattr with a literal)."""
    used: set[str] = set()
    for text in folded.values():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.ImportFrom):
                used.update(a.name for a in node.names)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                used.add(node.value)
    return used


def _privatise(text: str, names: set[str]) -> str:
    tree = ast.parse(text)
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    edits = _Edits(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in names and "_" + node.id not in taken:
            edits.replace(node, "_" + node.id)
    return edits.apply()


def link_check(folded: dict[str, str]) -> None:
    """Every `from M import NAME` of a firmware module M finds NAME in M (or a submodule)."""
    trees = {name: ast.parse(text) for name, text in folded.items()}
    defined = {name: set(_stored_names(tree)) for name, tree in trees.items()}  # bound anywhere
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _absolute(node)
            if source not in defined:
                continue
            for a in node.names:
                if a.name not in defined[source] and f"{source}.{a.name}" not in folded:
                    raise BuildError(
                        f"{name} imports {a.name} from {source}, which has no such name"
                    )


def fold(sources: dict[str, str]) -> dict[str, str]:
    """The firmware's module sources (dotted name -> text) with other modules' consts folded
    into their uses and the consts nobody outside uses made private."""
    modules = _read(sources)
    folded = {name: _fold_uses(modules[name], modules, text) for name, text in sources.items()}
    in_use = _names_in_use(folded)
    for name, mod in modules.items():
        private = {const for const in mod.consts if const not in in_use}
        if private:
            folded[name] = _privatise(folded[name], private)
    link_check(folded)
    return folded
