"""Plain-text views of release plans, verifications and units."""

from __future__ import annotations

from typing import Any, TextIO

_MARK = {"create": "+", "update": "~", "drifted": "!", "unchanged": "="}


def plan_text(plan: dict[str, Any], out: TextIO) -> None:
    out.write(f"Release {plan['unit']} of {plan['workflow']} → namespace {plan['namespace']}\n")
    if plan.get("policy"):
        out.write(f"Policy {plan['policy']['source']}: passed\n")
    image = plan["image"]
    if image["live"] != image["unit"]:
        out.write(f"Image: {image['live'] or '(none)'} → {image['unit']}\n")
    code = plan["code"]
    if code["live"] != code["unit"]:
        out.write(f"Code: {code['live'] or '(none)'} → {code['unit']}\n")
    for entry in plan["objects"]:
        note = " (edited by hand since it was applied)" if entry["action"] == "drifted" else ""
        out.write(f"{_MARK.get(entry['action'], '?')} {entry['object']}: {entry['action']}{note}\n")
    for ref in plan["prune"]:
        out.write(f"- {ref}: prune\n")
    for title, key in (
        ("Network/RBAC changes", "networkRbac"),
        ("Risky security changes", "risky"),
        ("Immutable-field conflicts", "immutableConflicts"),
    ):
        if plan[key]:
            out.write(f"{title}:\n" + "".join(f"  {item}\n" for item in plan[key]))
    secret = plan["secret"]
    if secret["missingKeys"]:
        out.write(f"Secret {secret['name']} lacks: {', '.join(secret['missingKeys'])} (tntc secrets sync)\n")
    out.write(code.get("diff") or "")
    for entry in plan["objects"]:
        if entry.get("diff") and entry["action"] != "create":
            out.write(entry["diff"])
    if not plan["changes"] and not plan["prune"]:
        out.write("No changes.\n")


def verify_text(entry: dict[str, Any], out: TextIO) -> None:
    for check in entry.get("checks") or []:
        out.write(f"  {'✓' if check['passed'] else '✗'} {check['name']}: {check['detail']}\n")
    diagnostics = entry.get("diagnostics") or {}
    for event in diagnostics.get("events") or []:
        out.write(f"  event {event['object']}: {event['reason']}: {event['message']}\n")


def show_text(view: dict[str, Any], out: TextIO, *, objects: bool) -> None:
    workflow, image, source = view["workflow"], view["image"], view.get("source") or {}
    bundled = view.get("bundled") or {}
    out.write(f"Release unit {view['id']}\n")
    out.write(f"Workflow: {workflow['name']} {workflow['version']} (code {workflow['codeHash']})\n")
    out.write(f"Image: {image['image']} ({image['source']})\n")
    dirty = " (dirty)" if source.get("dirty") else ""
    out.write(f"Source: {source.get('path')} at {source.get('gitSha') or 'no git'}{dirty}\n")
    out.write(
        f"Bundled: by {bundled.get('by')} at {bundled.get('at')} for "
        f"{bundled.get('environment') or 'namespace ' + str(bundled.get('namespace'))}\n"
    )
    out.write(f"Secrets (names only): {', '.join(view['derived'].get('secrets') or []) or 'none'}\n")
    out.write(
        "Files:\n" + "".join(f"  {f['sha256'][7:19]}  {f['size']:>7}  {f['path']}\n" for f in view["files"])
    )
    out.write("Objects:\n" + "".join(f"  {o['hash'][7:19]}  {o['ref']}\n" for o in view["objects"]))
    out.write("History:\n" + ("" if view["history"] else "  (none)\n"))
    for entry in view["history"]:
        out.write(
            f"  {entry['at']} {entry['action']} {entry.get('result', '')} {entry.get('namespace', '')}\n"
        )
        for check in entry.get("checks") or []:
            out.write(f"    {'✓' if check['passed'] else '✗'} {check['name']}: {check['detail']}\n")
    if objects:
        import yaml

        out.write(yaml.safe_dump_all(view["manifests"], sort_keys=False, explicit_start=True))
