"""What each staff role may do with the catalogue (config.roles; applied by `manage.py roles_sync`)."""

from config.roles import Role

_READ = ("view_taxcategory", "view_category", "view_product", "view_variant", "view_promotion")
_ALL = tuple(
    f"{verb}_{model}"
    for model in ("taxcategory", "category", "product", "variant", "promotion")
    for verb in ("view", "add", "change", "delete")
)

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    # Everyone who serves a customer or keeps the books reads products and prices.
    Role.STORE_STAFF: _READ,
    Role.STORE_MANAGER: _READ,
    Role.WAREHOUSE: _READ,
    Role.AGENT: _READ,
    Role.TEAM_LEAD: _READ,
    Role.ACCOUNTANT: _READ,
    Role.MANAGER: _ALL,
}
