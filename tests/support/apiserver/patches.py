"""How the in-test API server changes an object: JSON merge patch (RFC 7386), strategic
merge patch (as merge patch, except that lists of named items merge by ``name`` as the
container/env/port lists do), and server-side apply with field managers.

Server-side apply is tracked the way the API server does it, at the granularity this
suite needs: each manager owns the set of leaf field paths it set (lists are atomic
leaves), kept in ``metadata.managedFields`` as ``FieldsV1``. An apply

* conflicts (409) when it sets a field another manager owns to a different value,
  unless ``force=true`` — then the field changes hands;
* removes the fields this manager applied before and now omits, unless someone else
  owns them too;
* makes the applying manager the owner of every field in its configuration.

Plain updates (create, PUT, merge patches, subresources) record the fields whose value
changed under their manager with ``operation: Update``, as the API server does, so a
later apply that disagrees with them conflicts.
"""

from __future__ import annotations

import copy
import time
from typing import Any

Path = tuple[str, ...]
#: fields SSA never tracks (identity and server-owned metadata)
UNTRACKED: tuple[Path, ...] = (
    ("apiVersion",),
    ("kind",),
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata", "uid"),
    ("metadata", "resourceVersion"),
    ("metadata", "generation"),
    ("metadata", "creationTimestamp"),
    ("metadata", "deletionTimestamp"),
    ("metadata", "managedFields"),
    ("status",),
)


class ApplyConflict(Exception):
    def __init__(self, conflicts: list[tuple[str, Path]]) -> None:
        self.conflicts = conflicts
        described = "; ".join(f'conflict with "{m}": .{".".join(p)}' for m, p in conflicts)
        super().__init__(f"Apply failed with {len(conflicts)} conflict(s): {described}")


def merge_patch(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (null removes; lists replace)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def strategic_merge_patch(base: Any, patch: Any) -> Any:
    """Merge patch, but lists of dicts that all have a ``name`` merge item by item."""
    if isinstance(patch, list) and isinstance(base, list) and _named(patch) and _named(base):
        merged = [copy.deepcopy(item) for item in base]
        index = {item["name"]: i for i, item in enumerate(merged)}
        for item in patch:
            if item.get("$patch") == "delete":
                merged = [m for m in merged if m["name"] != item["name"]]
                index = {m["name"]: i for i, m in enumerate(merged)}
            elif item["name"] in index:
                position = index[item["name"]]
                merged[position] = strategic_merge_patch(merged[position], item)
            else:
                index[item["name"]] = len(merged)
                merged.append(copy.deepcopy(item))
        return merged
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = strategic_merge_patch(out.get(key), value)
    return out


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


# -- field ownership ----------------------------------------------------------------------
def leaf_paths(obj: Any, prefix: Path = ()) -> set[Path]:
    """Every leaf field path of ``obj`` (dicts are walked, anything else is a leaf)."""
    if isinstance(obj, dict) and obj:
        paths: set[Path] = set()
        for key, value in obj.items():
            paths |= leaf_paths(value, (*prefix, key))
        return paths
    return {prefix} if prefix else set()


def _tracked(paths: set[Path]) -> set[Path]:
    return {p for p in paths if not any(p[: len(u)] == u for u in UNTRACKED)}


def lookup(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


_MISSING = object()


def _remove(obj: dict[str, Any], path: Path) -> None:
    parents = [obj]
    for key in path[:-1]:
        child = parents[-1].get(key)
        if not isinstance(child, dict):
            return
        parents.append(child)
    parents[-1].pop(path[-1], None)
    for depth in range(len(path) - 2, -1, -1):  # prune maps left empty
        if parents[depth + 1] == {}:
            parents[depth].pop(path[depth], None)


def owners(obj: dict[str, Any]) -> dict[tuple[str, str], set[Path]]:
    """``(manager, operation) -> fields`` from ``metadata.managedFields``."""
    found: dict[tuple[str, str], set[Path]] = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        key = (entry.get("manager", ""), entry.get("operation", "Update"))
        found[key] = _from_fields_v1(entry.get("fieldsV1") or {})
    return found


def _to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return tree


def _from_fields_v1(tree: dict[str, Any], prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for key, child in tree.items():
        path = (*prefix, key.removeprefix("f:"))
        paths |= _from_fields_v1(child, path) if child else {path}
    return paths


def set_owners(
    obj: dict[str, Any], table: dict[tuple[str, str], set[Path]], api_version: str
) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    obj.setdefault("metadata", {})["managedFields"] = [
        {
            "manager": manager,
            "operation": operation,
            "apiVersion": api_version,
            "time": now,
            "fieldsType": "FieldsV1",
            "fieldsV1": _to_fields_v1(paths),
        }
        for (manager, operation), paths in sorted(table.items())
        if paths
    ]


def record_update(before: dict[str, Any] | None, after: dict[str, Any], manager: str) -> None:
    """Give ``manager`` (operation Update) the fields whose value this write changed."""
    table = owners(before or {})
    changed = {
        p
        for p in _tracked(leaf_paths(after))
        if before is None or lookup(before, p) != lookup(after, p)
    }
    gone = {p for p in _tracked(leaf_paths(before or {})) if lookup(after, p) is _MISSING}
    for key in table:
        table[key] -= changed | gone
    if changed:
        table[(manager, "Update")] = table.get((manager, "Update"), set()) | changed
    set_owners(after, table, after.get("apiVersion", ""))


def apply(
    existing: dict[str, Any] | None, config: dict[str, Any], manager: str, force: bool
) -> dict[str, Any]:
    """The object after ``manager`` applies ``config``; raises :class:`ApplyConflict`."""
    config = copy.deepcopy(config)
    config.get("metadata", {}).pop("managedFields", None)
    config.pop("status", None)
    table = owners(existing or {})
    mine = (manager, "Apply")
    wanted = _tracked(leaf_paths(config))
    conflicts = [
        (other[0], path)
        for other, paths in table.items()
        if other != mine and other[0] != manager
        for path in sorted(wanted & paths)
        if existing is not None and lookup(existing, path) != lookup(config, path)
    ]
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    result = copy.deepcopy(existing) if existing is not None else {}
    others = set().union(*(p for k, p in table.items() if k != mine)) if table else set()
    for path in table.get(mine, set()) - wanted - others:
        _remove(result, path)
    result = merge_patch(result, config)
    for key in list(table):
        if key != mine:
            table[key] -= wanted
    table[mine] = wanted
    set_owners(result, table, config.get("apiVersion", ""))
    return result
