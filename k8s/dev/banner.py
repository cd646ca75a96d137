"""The start-up banner of ``eventfn dev``: where to send events, which broker, which
functions listen to what, how they scale, and commands to try. Pure (rich Text)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from k8s.scaling import ScalingPolicy

__all__ = ["BannerInfo", "banner", "curl_example"]

_FALLBACK_TYPE = "com.example.hello"
_DATA = {"id": 1, "total": 9.5}


@dataclass(frozen=True)
class BannerInfo:
    """What the banner says; ``functions``: ``(name, subscriptions in words)``."""

    ingress_url: str
    broker: str
    broker_kind: str
    functions: Sequence[tuple[str, str]]
    policy: ScalingPolicy
    example_type: str | None = None
    watching: Sequence[str] = ()
    logs: str | None = None
    embedded: bool = True


def curl_example(ingress_url: str, event_type: str, indent: str = "") -> str:
    """A binary-mode ``curl`` POST of one event to the ingress (shell lines joined by
    backslash continuations, each further one indented by ``indent`` plus two)."""

    def header(name: str, value: str) -> str:
        return shlex.join(["-H", f"{name}: {value}"])

    lines = [
        shlex.join(["curl", "-i", f"{ingress_url}/"]),
        " ".join(
            header(name, value)
            for name, value in (("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/dev"))
        ),
        header("ce-type", event_type),
        f"{header('content-type', 'application/json')} -d {shlex.quote(json.dumps(_DATA))}",
    ]
    return f" \\\n{indent}  ".join(lines)


def _scaling(policy: ScalingPolicy) -> str:
    idle = (
        f"to zero after {policy.cooldown_seconds} s idle"
        if policy.min_replicas == 0
        else f"never below {policy.min_replicas}"
    )
    return (
        f"{policy.min_replicas}..{policy.max_replicas} workers per function, "
        f"one per {policy.target_backlog} queued messages, {idle}"
    )


def banner(info: BannerInfo) -> Text:
    text = Text()
    text.append("eventfn dev\n", style="bold")

    def field(label: str, value: str, style: str = "") -> None:
        text.append(f"  {label:<11}", style="dim")
        text.append(f"{value}\n", style=style)

    field("ingress", f"{info.ingress_url}  (POST /, POST /functions/NAME)", "bold cyan")
    field("broker", f"{info.broker}  ({info.broker_kind})")
    if info.functions:
        width = max(len(name) for name, _ in info.functions)
        for index, (name, subscriptions) in enumerate(info.functions):
            text.append(f"  {'functions' if index == 0 else '':<11}", style="dim")
            text.append(f"{name:<{width}}", style="bold")
            text.append(f"  <- {subscriptions}\n")
    else:
        field("functions", "(none registered)", "yellow")
    field("scaling", _scaling(info.policy))
    field("reload", f"watching {', '.join(info.watching)}" if info.watching else "off")
    if info.logs:
        field("logs", info.logs)
    event_type = info.example_type or _FALLBACK_TYPE
    broker_flag = "" if info.embedded else " --broker URL"
    text.append("\n  try:\n", style="dim")
    text.append(f"    {curl_example(info.ingress_url, event_type, indent='    ')}\n")
    text.append(
        f"    eventfn publish{broker_flag} --type {event_type} --data "
        f"{shlex.quote(json.dumps(_DATA))}\n"
    )
    text.append(f"    eventfn status{broker_flag}\n")
    text.append(
        "  stop:      Ctrl-C (workers finish their handlers; nothing is lost)\n", style="dim"
    )
    return text
