"""Each app's error codes are one enum, and the OpenAPI schema lists every one of them.

Clients branch on `error.code`. So each app names its codes in one enum, `<App>ErrorCode` in its
`exceptions` module; every raise site uses its members, never a bare string (a typo would be a new
code nobody documented); and the schema's error shape lists them all (config.exceptions.error_codes),
the codes of the API framework included.
"""

import ast
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework import exceptions as drf_exceptions

from config.exceptions import ApplicationError, error_code_enums, error_codes

# The exceptions whose `code` reaches the client: ours, and the API framework's (a field's code
# in a ValidationError does not: the answer's code is `invalid`, config.api.errors).
FRAMEWORK_ROOTS = {"ApplicationError", "APIException", "error_body"}


def project_apps() -> list[str]:
    return [app.name for app in apps.get_app_configs() if (settings.BASE_DIR / app.name).is_dir()]


def source_files() -> Iterator[tuple[Path, ast.Module]]:
    for app in project_apps():
        for path in sorted((settings.BASE_DIR / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), filename=str(path))


def name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def raising_names(trees: list[tuple[Path, ast.Module]]) -> set[str]:
    """The project's exception classes whose code reaches the client, and the API framework's, by name."""
    names = FRAMEWORK_ROOTS | {
        cls.__name__ for cls in vars(drf_exceptions).values() if isinstance(cls, type) and issubclass(cls, Exception)
    }
    names.discard("ValidationError")
    grown = True
    while grown:
        found = {
            node.name
            for _, tree in trees
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and any(name_of(base) in names for base in node.bases)
        }
        grown = not found <= names
        names |= found
    return names


def bare_strings(value: ast.expr, function: ast.AST | None) -> bool:
    """Whether a code is a string literal, or a local name given one."""
    if any(isinstance(node, ast.Constant) and isinstance(node.value, str) for node in ast.walk(value)):
        return True
    if isinstance(value, ast.Name) and function is not None:
        assigned = [
            node.value
            for node in ast.walk(function)
            if isinstance(node, ast.Assign) and any(name_of(target) == value.id for target in node.targets)
        ]
        return any(bare_strings(expression, None) for expression in assigned)
    return False


def code_sites(trees: list[tuple[Path, ast.Module]]) -> Iterator[tuple[str, ast.expr, ast.AST | None]]:
    """Every code given to an exception that reaches the client: `X(..., code=...)` and `code = ...` in its class."""
    raising = raising_names(trees)
    for path, tree in trees:
        where = path.relative_to(settings.BASE_DIR)
        functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and name_of(node.func) in raising:
                function = next((f for f in functions if f.lineno <= node.lineno <= (f.end_lineno or 0)), None)
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        yield f"{where}:{node.lineno}", keyword.value, function
            elif isinstance(node, ast.ClassDef) and node.name in raising:
                for statement in node.body:
                    target: ast.expr | None = statement.target if isinstance(statement, ast.AnnAssign) else None
                    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                        target = statement.targets[0]
                    value = getattr(statement, "value", None)
                    if target is not None and name_of(target) in ("code", "default_code") and value is not None:
                        yield f"{where}:{statement.lineno}", value, None


@pytest.fixture(scope="module")
def trees() -> list[tuple[Path, ast.Module]]:
    return list(source_files())


def test_every_app_with_errors_names_its_codes_in_one_enum() -> None:
    enums = {enum.__module__: enum.__name__ for enum in error_code_enums()}
    assert len(enums) == len(error_code_enums())  # one per app
    assert set(enums) >= {
        "config.exceptions",
        "catalog.exceptions",
        "customers.exceptions",
        "inventory.exceptions",
        "invoicing.exceptions",
        "orders.exceptions",
    }


def test_no_code_is_a_bare_string(trees: list[tuple[Path, ast.Module]]) -> None:
    bare = [where for where, value, function in code_sites(trees) if bare_strings(value, function)]
    assert bare == [], "Raise these with a member of the app's ErrorCode enum:\n" + "\n".join(bare)


def test_every_code_named_is_a_member_of_an_enum(trees: list[tuple[Path, ast.Module]]) -> None:
    """`OrderErrorCode.OUT_OF_STCK` in a function body fails only when it runs: here it fails now."""
    enums = {enum.__name__: enum for enum in error_code_enums()}
    unknown = [
        f"{path.relative_to(settings.BASE_DIR)}:{node.lineno}: {ast.unparse(node)}"
        for path, tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in enums
        and node.attr not in enums[node.value.id].__members__
    ]
    assert unknown == []


def all_subclasses(cls: type[ApplicationError]) -> Iterator[type[ApplicationError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


def test_every_application_error_has_a_code_of_an_enum() -> None:
    enums = tuple(error_code_enums())
    classes: list[type[ApplicationError]] = [ApplicationError, *all_subclasses(ApplicationError)]
    loose = [cls.__qualname__ for cls in classes if not isinstance(cls.code, enums)]
    assert loose == []


def test_the_schema_lists_every_code() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    code = components["ApiErrorBody"]["properties"]["code"]
    ref = next(part["$ref"] for part in code.get("allOf", [code]) if "$ref" in part)
    assert components[ref.rsplit("/", 1)[1]]["enum"] == error_codes()


def test_the_codes_of_the_api_framework_are_listed() -> None:
    """Not authenticated, throttled, a body that does not parse...: answered with DRF's own codes."""
    framework = {
        str(cls.default_code)
        for cls in vars(drf_exceptions).values()
        if isinstance(cls, type)
        and issubclass(cls, drf_exceptions.APIException)
        and cls is not drf_exceptions.APIException
    }
    assert framework - set(error_codes()) == set()


def test_codes_are_the_same_strings_clients_always_saw() -> None:
    """An enum member is its value: the code sent, logged and compared is the plain string."""
    enum = error_code_enums()[0]
    member = next(iter(enum))
    assert isinstance(member, StrEnum)
    assert f"{member}" == member.value
