"""The fine-tuned models of a folder, in plain Python (no Qt).

They live in the folder's state directory (``.uglli/`` or its fallback, see
:func:`state_dir`) under ``models/``::

    models/index.json     which versions exist and which one is active (written atomically)
    models/v1.pt, v2.pt   the models themselves (self-describing checkpoints)
    models/runs/…         training runs in progress; removed when a run ends

Version 0 is implicit: the model the app was started with (the bundled model unless
another was chosen). Every other version records its parent, when it was made, how it
was trained, the faces it was trained on and held out, and the held-out figures of its
parent ("before") and of itself ("after").
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT = "uglli-review-models"
FORMAT_VERSION = 1
MODELS_DIR = "models"
INDEX_NAME = "index.json"
RUNS_DIR = "runs"


class ModelVersionsError(RuntimeError):
    """The models index cannot be used (e.g. written by a newer app); the message says why."""


def state_dir(project) -> Path:
    """Where a project keeps its state: the folder of its review database (``.uglli/``,
    or the fallback place when the folder cannot be written)."""
    explicit = getattr(project, "state_dir", None)
    return Path(explicit) if explicit is not None else Path(project.store.path).parent


@dataclass
class ModelVersion:
    version: int
    file: str                                   # relative to the models folder
    parent: int                                 # 0: the starting model
    created: str
    config: dict = field(default_factory=dict)  # epochs, lr, held-out share, device, faces chosen…
    trained_on: list[str] = field(default_factory=list)   # face keys "<image>#<face index>"
    validation: list[str] = field(default_factory=list)   # held-out face keys
    before: dict = field(default_factory=dict)  # parent's figures on the held-out faces
    after: dict = field(default_factory=dict)   # this model's figures on them

    @classmethod
    def from_dict(cls, values: dict) -> "ModelVersion":
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        return cls(**known)


class ModelVersions:
    def __init__(self, state: str | os.PathLike):
        """The versions kept under ``state/models`` (nothing is written until a change)."""
        self.folder = Path(state) / MODELS_DIR
        self.index_path = self.folder / INDEX_NAME
        self.versions: list[ModelVersion] = []
        self.active = 0
        self.notice: str | None = None          # for the user, once: e.g. a damaged index moved aside
        self._load()

    # -- reading ---------------------------------------------------------------------
    def _load(self) -> None:
        if not self.index_path.exists():
            return
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError("not a models index of UGLLI Review")
            if data.get("format_version", 0) > FORMAT_VERSION:
                raise ModelVersionsError(f"{self.index_path} was written by a newer UGLLI Review")
            versions = [ModelVersion.from_dict(v) for v in data.get("versions", [])]
            active = int(data.get("active", 0))
        except ModelVersionsError:
            raise
        except (OSError, ValueError, TypeError, KeyError) as exc:
            aside = self.index_path.with_name(f"{INDEX_NAME}.unusable-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(self.index_path, aside)
            self.notice = (f"The list of fine-tuned models ({self.index_path}) could not be read ({exc}); "
                           f"it was moved to {aside.name}. The model files are still in {self.folder}.")
            return
        self.versions = sorted(versions, key=lambda v: v.version)
        self.active = active if active == 0 or self.get(active) is not None else 0

    def get(self, version: int) -> ModelVersion | None:
        return next((v for v in self.versions if v.version == version), None)

    def path_of(self, version: int) -> Path | None:
        """The model file of ``version``; None for version 0 (the starting model)."""
        if version == 0:
            return None
        found = self.get(version)
        if found is None:
            raise KeyError(f"no model version {version}")
        return self.folder / found.file

    def active_path(self) -> Path | None:
        """The active version's file; None when the starting model is active."""
        return self.path_of(self.active)

    def next_version(self) -> int:
        """One more than any version listed or any ``v<N>.pt`` lying in the folder, so that a
        file left by a lost index is never overwritten."""
        numbers = [v.version for v in self.versions]
        if self.folder.is_dir():
            for path in self.folder.glob("v*.pt"):
                if path.stem[1:].isdigit():
                    numbers.append(int(path.stem[1:]))
        return max(numbers, default=0) + 1

    # -- changing --------------------------------------------------------------------
    def new_run_dir(self) -> Path:
        """An empty folder for one training run (``fit`` resumes from a ``last.pt`` it finds,
        so every run gets its own)."""
        runs = self.folder / RUNS_DIR
        runs.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=runs))

    @staticmethod
    def remove_run(run_dir: str | os.PathLike | None) -> None:
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)

    def add(self, model_file: str | os.PathLike, *, parent: int, config: dict | None = None,
            trained_on: list[str] = (), validation: list[str] = (), before: dict | None = None,
            after: dict | None = None) -> ModelVersion:
        """Copy ``model_file`` in as the next version and list it (the active version stays)."""
        number = self.next_version()
        target = self.folder / f"v{number}.pt"
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        try:
            shutil.copyfile(model_file, temporary)
            _fsync(temporary)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        version = ModelVersion(number, target.name, parent, time.strftime("%Y-%m-%dT%H:%M:%S"),
                               _plain(config or {}), list(trained_on), list(validation),
                               _plain(before or {}), _plain(after or {}))
        self.versions.append(version)
        try:
            self._write()
        except OSError:
            self.versions.remove(version)
            target.unlink(missing_ok=True)
            raise
        return version

    def set_active(self, version: int) -> None:
        if version != 0 and self.get(version) is None:
            raise KeyError(f"no model version {version}")
        before, self.active = self.active, version
        try:
            self._write()
        except OSError:
            self.active = before
            raise

    def _write(self) -> None:
        """The index, atomically: a temporary file, flushed to disk, renamed over the old one."""
        data = {"format": FORMAT, "format_version": FORMAT_VERSION, "active": self.active,
                "versions": [asdict(v) for v in self.versions]}
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.index_path.with_name(f".{INDEX_NAME}.tmp-{os.getpid()}")
        try:
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.index_path)
        finally:
            temporary.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _plain(value):
    """``value`` with numpy scalars and tuples made JSON-friendly."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):   # numpy scalar
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value
