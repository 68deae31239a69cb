"""Where the page's scenario comes from: a bundled example, a YAML file uploaded, or CRM exports
uploaded and fitted; and every way such an input can be wrong, as lines a person reads.

An upload is read exactly as a file on disk is (``load_scenario``, ``calibration.fit``): it is
written to a private temporary folder under its own name, so every check and message of the
library applies, and the messages name the file as the user knows it, never the temporary path.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..base.formatting import one_line
from ..calibration import Calibration, CalibrationError, fit
from ..scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "STYLES",
    "BadInput",
    "Upload",
    "bundled",
    "fit_uploads",
    "read_scenario_file",
    "read_upload",
    "scenario_folder",
]

STYLES = ("hubspot", "salesforce")  # the CRM export styles a fit reads (simfunnel.data)


class BadInput(Exception):
    """An input the page cannot use: ``lines`` says why, one problem a line."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


@dataclass(frozen=True)
class Upload:
    """An uploaded file: the name it had on the user's machine and its bytes."""

    name: str
    data: bytes


def scenario_folder() -> Path | None:
    """The bundled example scenarios: ``scenarios/`` of the source tree simfunnel runs from,
    else of the current directory; None if neither exists."""
    for folder in (Path(__file__).resolve().parents[2] / "scenarios", Path.cwd() / "scenarios"):
        if folder.is_dir() and any(folder.glob("*.yaml")):
            return folder
    return None


def bundled(folder: Path | None = None) -> dict[str, Path]:
    """The example scenarios by file name ('inbound_saas.yaml' -> its path), sorted."""
    folder = scenario_folder() if folder is None else folder
    if folder is None:
        return {}
    return {p.name: p for p in sorted(folder.glob("*.yaml"))}


def read_scenario_file(path: str | Path) -> Scenario:
    """A scenario file on disk; :class:`BadInput` with the loader's lines if it is not one."""
    try:
        return load_scenario(path)
    except ScenarioError as exc:
        raise BadInput(exc.problems) from None


def _safe_name(name: str, default: str) -> str:
    """The file's own name without folders, in plain characters (it names the temporary copy)."""
    base = re.sub(r"[^\w.\- ]", "_", Path(name.replace("\\", "/")).name).strip(" .")
    return base[:120] or default


@contextmanager
def _on_disk(uploads: Sequence[Upload | None]) -> Iterator[tuple[Path, list[Path | None]]]:
    """The uploads written under their own names to a private temporary folder (removed after)."""
    with tempfile.TemporaryDirectory(prefix="simfunnel-upload-") as folder:
        paths: list[Path | None] = []
        for i, upload in enumerate(uploads):
            if upload is None:
                paths.append(None)
                continue
            path = Path(folder) / f"{i}" / _safe_name(upload.name, f"upload-{i}")
            path.parent.mkdir()
            path.write_bytes(upload.data)
            paths.append(path)
        yield Path(folder), paths


def _shown(upload: Upload) -> str:
    """The name a message gives an upload: the file's own name, without any folder."""
    return Path(upload.name.replace("\\", "/")).name or "the upload"


def _named(lines: Sequence[str], folder: Path, uploads: Sequence[Upload | None]) -> list[str]:
    """Messages with the temporary paths replaced by the names the user gave the files."""
    out = []
    for line in lines:
        for i, upload in enumerate(uploads):
            if upload is not None:
                copy = str(folder / f"{i}" / _safe_name(upload.name, f"upload-{i}"))
                line = line.replace(copy, _shown(upload))
        out.append(line.replace(str(folder), "upload"))
    return out


def read_upload(upload: Upload) -> Scenario:
    """An uploaded scenario YAML, read and validated as a file would be; :class:`BadInput` with
    one line per problem, naming the file and the field."""
    with _on_disk([upload]) as (folder, paths):
        path = paths[0]
        assert path is not None
        try:
            return load_scenario(path)
        except ScenarioError as exc:
            raise BadInput(_named(exc.problems, folder, [upload])) from None


def fit_uploads(
    leads: Upload,
    calls: Upload | None = None,
    opportunities: Upload | None = None,
    *,
    style: str = "hubspot",
    horizon_weeks: int = 13,
    mapping: Upload | None = None,
) -> Calibration:
    """Fit a scenario from uploaded CRM exports (``simfunnel.calibration.fit``); anything the
    fit refuses is :class:`BadInput` with its message, naming the uploaded file and column.
    ``mapping``: an uploaded column mapping (YAML or JSON, docs/calibration.md), for exports
    whose columns, call outcomes or lead statuses are named otherwise than the style's."""
    uploads = [leads, calls, opportunities, mapping]
    with _on_disk(uploads) as (folder, paths):
        lead_path = paths[0]
        assert lead_path is not None
        try:
            return fit(
                lead_path,
                paths[1],
                paths[2],
                style=style,
                mapping=paths[3],
                horizon_weeks=horizon_weeks,
                name=Path(_safe_name(leads.name, "fitted")).stem or "fitted",
            )
        except ScenarioError as exc:
            raise BadInput(_named(exc.problems, folder, uploads)) from None
        except CalibrationError as exc:
            raise BadInput(_named([one_line(exc)], folder, uploads)) from None
