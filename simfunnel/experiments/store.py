"""The on-disk store of an experiment (``out=``): a manifest that says which experiment the
directory holds, and one file per finished (variant, replication), so that an interrupted run
resumes where it stopped and a different experiment is refused rather than mixed in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base.files import TEMP_PREFIX, write_text
from ..base.version import __version__
from ..model import Snapshot
from ..scenario import Scenario, scenario_to_dict
from .replicate import can_read, normalise, read_table, table_format, write_table

__all__ = ["DiscardedPartWarning", "ExperimentError", "Store", "experiment_manifest"]

_MANIFEST = "manifest.json"
_FORMAT_VERSION = 1


class ExperimentError(Exception):
    """An experiment that cannot start as asked (for example an ``out`` directory that holds
    a different experiment); the message says what to change."""


class DiscardedPartWarning(UserWarning):
    """A resume found a replication file it cannot read (empty, truncated, damaged): the file
    is deleted and the replication run again."""


def experiment_manifest(
    scenarios: Mapping[str, Scenario],
    overrides: Sequence[Mapping[str, Any]],
    seed: int,
    snapshot: Snapshot | None,
    draw_parameters: bool,
) -> dict[str, Any]:
    """What identifies an experiment on disk; a resume must ask for the same one."""
    manifest: dict[str, Any] = {
        "experiment_format": _FORMAT_VERSION,
        "simfunnel_version": __version__,
        "seed": seed,
        "variants": [
            {
                "name": name,
                "overrides": _json_ready(dict(o)),
                "scenario": _json_ready(scenario_to_dict(s)),
            }
            for (name, s), o in zip(scenarios.items(), overrides, strict=True)
        ],
        "snapshot": None if snapshot is None else _snapshot_digest(snapshot),
    }
    if draw_parameters:  # only then, so that older directories resume as before
        manifest["parameter_draws"] = True
    return manifest


def _snapshot_digest(snapshot: Snapshot) -> dict[str, Any]:
    """What identifies a snapshot in a manifest: a resume must start from the same one."""
    digest = hashlib.sha256()
    for name in ("source", "arrival", "score", "quality", "attempts", "valid_at", "value"):
        digest.update(np.ascontiguousarray(getattr(snapshot, name)).tobytes())
    digest.update("\n".join(snapshot.state.tolist()).encode())
    return {"origin": snapshot.origin, "rows": len(snapshot), "sha256": digest.hexdigest()}


def _json_ready(value: Any) -> Any:
    """Plain JSON data, with dates as ISO text; for the manifest and its comparison."""
    return json.loads(json.dumps(value, default=_json_default, sort_keys=True))


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two manifests' JSON data first differ, as ``path: b there, a here``."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            found = _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path or '(top level)'}: {b!r} there, {a!r} here"


class Store:
    """An experiment streamed to a directory: a manifest and one file per finished
    (variant, replication), so an interrupted run resumes where it stopped."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.dir = path / "replications"
        file = path / _MANIFEST
        if file.exists():
            try:
                old = json.loads(file.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ExperimentError(f"{file}: unreadable manifest ({exc})") from None
            self._check(old, manifest)
            self.format = old["format"]
            if not can_read(self.format):
                raise ExperimentError(
                    f"{path}: the replications are stored as Parquet; install pyarrow to resume"
                )
        else:
            if path.exists() and any(path.iterdir()):
                raise ExperimentError(
                    f"{path}: not empty and has no {_MANIFEST}, so it is not an experiment "
                    "directory; give a new or empty directory"
                )
            self.format = table_format()
            self.dir.mkdir(parents=True, exist_ok=True)
            text = json.dumps({**manifest, "format": self.format}, indent=1, sort_keys=True)
            write_text(file, text + "\n")
        self.dir.mkdir(parents=True, exist_ok=True)
        # What a killed writer left: temporary files never renamed (the parts are whole).
        for stale in [*self.dir.glob(f"{TEMP_PREFIX}*"), *self.dir.glob("*.partial")]:
            with contextlib.suppress(OSError):
                stale.unlink()

    def _check(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        where = f"{self.path}: holds another experiment"
        advice = "resume with the same scenario, variants and seed, or give another directory"
        if old.get("experiment_format") != _FORMAT_VERSION:
            raise ExperimentError(f"{where} (an unknown format); {advice}")
        if old.get("simfunnel_version") != new["simfunnel_version"]:
            raise ExperimentError(
                f"{where}, made by simfunnel {old.get('simfunnel_version')} (this is "
                f"{new['simfunnel_version']}); {advice}"
            )
        if old.get("seed") != new["seed"]:
            raise ExperimentError(f"{where}, seed {old.get('seed')} (not {new['seed']}); {advice}")
        old_names = [v["name"] for v in old.get("variants", [])]
        new_names = [v["name"] for v in new["variants"]]
        if old_names != new_names:
            diff = _first_difference(new_names, old_names, "variants")
            if diff is None:
                diff = f"variants: {len(old_names)} there, {len(new_names)} here"
            raise ExperimentError(f"{where}: {diff}; {advice}")
        for before, now in zip(old["variants"], new["variants"], strict=True):
            diff = _first_difference(now["scenario"], before["scenario"])
            if diff:
                raise ExperimentError(
                    f"{where}: variant {now['name']!r} differs at {diff}; {advice}"
                )
        if old.get("snapshot") != new["snapshot"]:
            raise ExperimentError(
                f"{where}, started from another snapshot ({old.get('snapshot')}, not "
                f"{new['snapshot']}); {advice}"
            )
        if old.get("parameter_draws", False) != new.get("parameter_draws", False):
            was = "with" if old.get("parameter_draws") else "without"
            raise ExperimentError(f"{where}, run {was} parameter draws; {advice}")

    def _file(self, key: tuple[int, int]) -> Path:
        return self.dir / f"v{key[0]:04d}-r{key[1]:06d}.{self.format}"

    def load(self, key: tuple[int, int]) -> pd.DataFrame | None:
        """The stored table of a replication; None when there is none, or when its file cannot
        be read whole (then it is deleted, with a warning, and the replication runs again)."""
        file = self._file(key)
        if not file.exists():
            return None
        try:
            return normalise(read_table(file, self.format))
        except PermissionError:
            raise  # there, but not ours to read: say so rather than delete it
        except Exception as exc:  # pyarrow's ArrowInvalid, a parser error, a missing column...
            reason = " ".join(str(exc).split()) or type(exc).__name__
            warnings.warn(
                f"{file}: cannot be read ({reason[:200]}); discarded, the replication is run again",
                DiscardedPartWarning,
                stacklevel=2,
            )
            with contextlib.suppress(OSError):
                file.unlink()
            return None

    def save(self, key: tuple[int, int], frame: pd.DataFrame) -> None:
        """Write a replication's table whole or not at all (a temporary file, renamed)."""
        write_table(frame, self._file(key), self.format)
