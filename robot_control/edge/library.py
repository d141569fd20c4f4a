"""The skill library: every manifest in a folder, each verified against its ONNX model.

A skill that fails to load is reported in `rejected` (file -> reason) and the others keep
serving. Skills are looked up by (name, embodiment): one manifest may serve several robots
with one model (e.g. reach on g1 and panda), or a robot may have its own model for a skill.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from robot_control.common.config import ConfigError
from robot_control.edge.manifest import SkillManifest, load_manifest
from robot_control.edge.policy import SkillLoadError, SkillPolicy, load_policy
from robot_control.paths import config_path

log = logging.getLogger(__name__)


def default_skill_dir() -> Path:
    return config_path("skills")


@dataclass
class SkillLibrary:
    folder: Path
    policies: dict[tuple[str, str], SkillPolicy] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: str | Path | None = None, embodiment: str | None = None) -> SkillLibrary:
        lib = cls(Path(folder) if folder is not None else default_skill_dir())
        if not lib.folder.is_dir():
            raise FileNotFoundError(f"skill folder {lib.folder} does not exist")
        for path in sorted(lib.folder.glob("*.yaml")):
            try:
                manifest = load_manifest(path)
                if embodiment is not None and embodiment not in manifest.embodiments:
                    continue
                clash = [e for e in manifest.embodiments if (manifest.name, e) in lib.policies]
                if clash:
                    raise SkillLoadError(f"{path}: skill {manifest.name!r} is already provided for "
                                         f"{', '.join(clash)} by another manifest")
                policy = load_policy(manifest)
            except (ConfigError, SkillLoadError) as exc:
                lib.rejected[path.name] = str(exc)
                log.error("skill rejected: %s", exc)
                continue
            for robot in manifest.embodiments:
                if embodiment is None or robot == embodiment:
                    lib.policies[(manifest.name, robot)] = policy
        return lib

    def get(self, name: str, embodiment: str) -> SkillPolicy | None:
        return self.policies.get((name, embodiment))

    def manifests(self, embodiment: str | None = None) -> list[SkillManifest]:
        seen: dict[int, SkillManifest] = {}
        for (_, robot), policy in sorted(self.policies.items()):
            if embodiment in (None, "", robot):
                seen.setdefault(id(policy), policy.manifest)
        return list(seen.values())

    def names(self, embodiment: str) -> list[str]:
        return sorted(n for n, e in self.policies if e == embodiment)
