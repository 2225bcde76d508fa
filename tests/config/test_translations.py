"""Every text the API or a message shows has its Spanish, checked from the code itself.

tests/config/test_api_language.py asks the API in Spanish for every answer the tests provoke;
this module closes what requests cannot reach, reading the source:

- every text marked for translation (`gettext`, `gettext_lazy`, `ngettext`, `pgettext`, as any
  alias) has a Spanish translation in the compiled catalogue (locale/es);
- no text reaches a client unmarked: a string literal (or f-string) given to an exception the API
  answers with (the project's ApplicationError family, Django's and DRF's ValidationError,
  PermissionDenied, DRF's APIException family), or a sentence in a list of error messages, is
  inside a gettext call;
- nothing is translated at import time: an eager `gettext` outside a function runs once, in the
  language active then, and every later request reads that.
"""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.utils.translation import trans_real
from rest_framework import exceptions as drf_exceptions

GETTEXT_MODULE = "django.utils.translation"
EAGER = {"gettext", "ngettext", "pgettext", "npgettext"}
LAZY = {"gettext_lazy", "ngettext_lazy", "pgettext_lazy", "npgettext_lazy"}
# Keyword arguments of an exception that never reach a person: its code, its machine extras.
NOT_SHOWN = {"code", "extra", "params", "status_code"}
SENTENCE = re.compile(r"^[A-Z¿¡].* .*|.*[.:]$")


def project_sources() -> Iterator[tuple[Path, ast.Module]]:
    for app in apps.get_app_configs():
        root = settings.BASE_DIR / app.name
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), filename=str(path))


SOURCES = list(project_sources())


def gettext_names(tree: ast.Module) -> dict[str, str]:
    """Local name → gettext function, for this module's imports from django.utils.translation."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == GETTEXT_MODULE:
            for alias in node.names:
                if alias.name in EAGER | LAZY:
                    names[alias.asname or alias.name] = alias.name
    return names


def called(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    if isinstance(node.func, ast.Name):
        return node.func.id
    return node.func.attr if isinstance(node.func, ast.Attribute) else None


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(settings.BASE_DIR)}:{getattr(node, 'lineno', 0)}"


# --- Marked texts have their Spanish -------------------------------------------------------------


def marked_texts() -> Iterator[tuple[str, str | tuple[str, int]]]:
    """(where, catalogue key) of every literal text given to a gettext function."""
    for path, tree in SOURCES:
        names = gettext_names(tree)
        for node in ast.walk(tree):
            function = names.get(called(node) or "")
            if function is None:
                continue
            assert isinstance(node, ast.Call)
            texts = [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
            if not texts:
                continue
            if function.startswith("np"):
                yield where(path, node), (f"{texts[0]}\x04{texts[1]}", 0)
            elif function.startswith("p"):
                yield where(path, node), f"{texts[0]}\x04{texts[1]}"
            elif function.startswith("n"):
                yield where(path, node), (texts[0], 0)
            else:
                yield where(path, node), texts[0]


def test_every_text_marked_for_translation_has_its_spanish() -> None:
    catalog = trans_real.translation("es")._catalog  # type: ignore[attr-defined]
    missing = [f"{place}: {key!r}" for place, key in marked_texts() if not catalog.get(key)]
    assert missing == [], "Not in locale/es (makemessages, translate, compilemessages):\n" + "\n".join(missing)


def test_the_check_reads_marked_texts() -> None:
    keys = {key for _place, key in marked_texts()}
    assert "The request has invalid fields." in keys  # config/api/errors.py
    assert any(isinstance(key, tuple) for key in keys)  # ngettext's


# --- No text reaches a client unmarked -----------------------------------------------------------


def shown_exceptions() -> set[str]:
    """Names of the exceptions whose message the API shows: ours (by inheritance), Django's, DRF's."""
    names = {"ApplicationError", "ValidationError", "PermissionDenied", "Http404"} | {
        cls.__name__
        for cls in vars(drf_exceptions).values()
        if isinstance(cls, type) and issubclass(cls, drf_exceptions.APIException)
    }
    grown = True
    while grown:
        found = {
            node.name
            for _, tree in SOURCES
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and any(called(ast.Call(func=base)) in names for base in node.bases)
        }
        grown = not found <= names
        names |= found
    return names


def unmarked(node: ast.AST, names: dict[str, str]) -> Iterator[ast.AST]:
    """String literals and f-strings under `node` that no gettext call wraps (dict keys are field names)."""
    if called(node) in names:
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip(" ,.;:"):
        yield node
        return
    if isinstance(node, ast.JoinedStr):
        yield node
        return
    if isinstance(node, ast.Dict):
        for value in node.values:
            yield from unmarked(value, names)
        return
    if isinstance(node, ast.DictComp):
        yield from unmarked(node.value, names)
        return
    for child in ast.iter_child_nodes(node):
        yield from unmarked(child, names)


def unmarked_messages() -> Iterator[str]:
    shown = shown_exceptions()
    for path, tree in SOURCES:
        names = gettext_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and called(node) in shown:
                arguments = [*node.args, *(k.value for k in node.keywords if k.arg not in NOT_SHOWN)]
                for argument in arguments:
                    for literal in unmarked(argument, names):
                        yield f"{where(path, literal)}: {ast.unparse(literal)[:80]}"
            # A list of error messages built before the raise: errors["field"] = ["..."].
            if isinstance(node, ast.List):
                for item in node.elts:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str) and SENTENCE.match(item.value):
                        yield f"{where(path, item)}: {item.value[:80]!r}"


def test_no_message_reaches_a_client_unmarked() -> None:
    found = sorted(set(unmarked_messages()))
    assert found == [], "Wrap these in gettext:\n" + "\n".join(found)


# --- Nothing translated at import time -----------------------------------------------------------


def eager_at_import(tree: ast.Module, names: dict[str, str]) -> Iterator[ast.Call]:
    eager = {name for name, function in names.items() if function in EAGER}

    def visit(node: ast.AST, in_function: bool) -> Iterator[ast.Call]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                yield from visit(decorator, in_function)
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if default is not None:
                    yield from visit(default, in_function)
            for statement in node.body:
                yield from visit(statement, True)
            return
        if isinstance(node, ast.Lambda):
            yield from visit(node.body, True)
            return
        if isinstance(node, ast.Call) and not in_function and called(node) in eager:
            yield node
        for child in ast.iter_child_nodes(node):
            yield from visit(child, in_function)

    yield from visit(tree, False)


def test_nothing_is_translated_at_import_time() -> None:
    found = [
        f"{where(path, node)}: {ast.unparse(node)[:80]}"
        for path, tree in SOURCES
        for node in eager_at_import(tree, gettext_names(tree))
    ]
    assert found == [], "Use gettext_lazy outside functions:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ('from django.utils.translation import gettext as _\nX = _("Hi there.")\n', 1),
        ('from django.utils.translation import gettext as _\ndef f():\n    return _("Hi there.")\n', 0),
        ('from django.utils.translation import gettext as _\ndef f(x=_("Hi there.")):\n    pass\n', 1),
    ],
)
def test_an_eager_translation_outside_a_function_is_found(source: str, found: int) -> None:
    tree = ast.parse(source)
    assert len(list(eager_at_import(tree, gettext_names(tree)))) == found
