"""The skill library: every manifest in a folder, each verified against its ONNX model.

A skill that fails to load is reported in `rejected` (file -> reason) and the others keep
serving. Skills are looked up by (name, embodiment): one manifest may serve several robots
with one model (e.g. reach on g1 and panda), or a robot may have its own model for a skill.

Who serves (skill, robot) when several manifests could: a manifest made for that robot alone
(`embodiments: [g1]`, e.g. what `robot-control train reach --robot g1` writes) takes precedence
over a shared one (`embodiments: [g1, panda]`), which keeps serving its other robots; the
hand-over is listed in `superseded`. Two loadable manifests of the same kind for the same pair
are a conflict: the later file (by name) is rejected. A robot-specific manifest that fails to
load supersedes nothing, so the shared model keeps serving.
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
    #: (skill, robot) -> (shared manifest file, the robot-specific file that serves instead)
    superseded: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: str | Path | None = None, embodiment: str | None = None) -> SkillLibrary:
        lib = cls(Path(folder) if folder is not None else default_skill_dir())
        if not lib.folder.is_dir():
            raise FileNotFoundError(f"skill folder {lib.folder} does not exist")
        loaded: list[tuple[Path, SkillPolicy]] = []
        for path in sorted(lib.folder.glob("*.yaml")):
            try:
                manifest = load_manifest(path)
                if embodiment is not None and embodiment not in manifest.embodiments:
                    continue
                loaded.append((path, load_policy(manifest)))
            except (ConfigError, SkillLoadError) as exc:
                lib._reject(path, str(exc))
        # Robot-specific manifests first, so that they win over shared ones.
        loaded.sort(key=lambda item: len(item[1].manifest.embodiments) > 1)
        for path, policy in loaded:
            m = policy.manifest
            robots = [r for r in m.embodiments if embodiment is None or r == embodiment]
            served = {r: lib.policies[(m.name, r)] for r in robots if (m.name, r) in lib.policies}
            # A conflict is a provider of the same kind: any for a robot-specific manifest, a shared
            # one for a shared manifest (a robot-specific provider just takes precedence).
            same_kind = [r for r, other in served.items()
                         if (len(other.manifest.embodiments) > 1) == (len(m.embodiments) > 1)]
            if same_kind:
                kind = "shared manifest" if len(m.embodiments) > 1 else "manifest for that robot alone"
                lib._reject(path, f"{path}: skill {m.name!r} is already provided for {', '.join(same_kind)} by "
                                  f"{_file(served[same_kind[0]])} (another {kind})")
                continue
            for robot in robots:
                if robot in served:
                    lib.superseded[(m.name, robot)] = (path.name, _file(served[robot]))
                    log.info("skill %s for %s: %s (robot-specific) serves instead of %s",
                             m.name, robot, _file(served[robot]), path.name)
                else:
                    lib.policies[(m.name, robot)] = policy
        return lib

    def _reject(self, path: Path, reason: str) -> None:
        self.rejected[path.name] = reason
        log.error("skill rejected: %s", reason)

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


def _file(policy: SkillPolicy) -> str:
    source = policy.manifest.source
    return source.name if source is not None else policy.manifest.name
