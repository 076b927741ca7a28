"""Remote-code model families for tools/export_fixtures.py (``Fixture(remote_code=KEY)`` entries).

Some families' modeling code is not part of ``transformers``: hub checkpoints ship it as Python files
loaded with ``trust_remote_code=True``.  That code is never copied into this repository.  Each family
module here (``minicpmv.py``, ``internvl.py``) names a public git repository and commit holding the
files (a :class:`Source`), the small textual patches they need with this export stack, the configs,
and ``prepare_checkpoint(source_dir, config, ckpt, seed, torch_dtype)``, which builds a random-weight
remote-code checkpoint in a temporary directory from a local copy of that repository
(``export_fixtures.py --remote-code KEY=DIR``).  The export itself is export_fixtures.py's.

``DIR`` may be a clone (any checkout: the files are read with ``git show COMMIT:PATH``), a bare git
directory holding the commit (e.g. a mirror), or a plain directory with the files at their repository
paths (``git archive COMMIT | tar -x -C DIR``).
"""

from __future__ import annotations

import dataclasses
import importlib
import subprocess
from pathlib import Path
from typing import Dict, Optional, Tuple

# (checkpoint file, old, new, why): an exact ``str.replace`` that must match exactly once.
Patch = Tuple[str, str, str, str]


@dataclasses.dataclass(frozen=True)
class Source:
    """Where one family (version)'s remote code comes from.

    key: the KEY of ``--remote-code KEY=DIR`` and of ``Fixture.remote_code`` (e.g. ``"minicpmv-2.6"``).
    family: module ``tools/remote_code/<family>.py``; ``--remote-code FAMILY=DIR`` covers every key
        of the family that is not given on its own.
    url / commit: the public git repository and the commit the files are read at.
    files: checkpoint file name -> path in the repository (checkpoints are flat).
    patches: applied in order to the file texts.
    clone_env: environment prefix of the clone hint (e.g. to skip LFS weights).
    """

    key: str
    family: str
    url: str
    commit: str
    files: Dict[str, str]
    patches: Tuple[Patch, ...] = ()
    clone_env: str = ""

    def clone_hint(self) -> str:
        env = f"{self.clone_env} " if self.clone_env else ""
        return f"{env}git clone {self.url} DIR && git -C DIR checkout {self.commit}"


def sources() -> Dict[str, Source]:
    """Every known source by key."""
    from remote_code import internvl, minicpmv

    return {**minicpmv.SOURCES, **internvl.SOURCES}


def family_module(family: str):
    return importlib.import_module(f"remote_code.{family}")


def _git_dir(directory: Path) -> Optional[Path]:
    if (directory / "HEAD").is_file() and (directory / "objects").is_dir():  # bare repository
        return directory
    if (directory / ".git").exists():  # work tree (.git may be a file for worktrees)
        return directory
    return None


def check(src: Source, directory: Path) -> Optional[str]:
    """Why ``directory`` cannot serve ``src`` (None if it can)."""
    directory = Path(directory)
    if not directory.is_dir():
        return f"{directory} is not a directory"
    if _git_dir(directory) is not None:
        proc = subprocess.run(
            ["git", "-C", str(directory), "cat-file", "-e", f"{src.commit}^{{commit}}"], capture_output=True
        )
        return None if proc.returncode == 0 else f"{directory} is a git repository without commit {src.commit}"
    absent = [p for p in src.files.values() if not (directory / p).is_file()]
    return f"{directory} has no {absent[0]}" if absent else None


def read_file(src: Source, directory: Path, repo_path: str) -> str:
    """``repo_path`` at ``src.commit`` from ``directory`` (git: ``git show``; plain dir: the file)."""
    directory = Path(directory)
    if _git_dir(directory) is not None:
        out = subprocess.run(
            ["git", "-C", str(directory), "show", f"{src.commit}:{repo_path}"], check=True, capture_output=True
        )
        return out.stdout.decode("utf-8")
    return (directory / repo_path).read_text(encoding="utf-8")


def patched_files(src: Source, directory: Path) -> Dict[str, str]:
    """checkpoint file name -> text: ``src.files`` read from ``directory``, ``src.patches`` applied."""
    texts = {name: read_file(src, directory, path) for name, path in src.files.items()}
    for name, old, new, why in src.patches:
        n = texts[name].count(old)
        if n != 1:
            raise RuntimeError(
                f"{src.key}: patch of {name} matched {n} times, expected 1 (source not at {src.commit}?): {why}"
            )
        texts[name] = texts[name].replace(old, new)
    return texts


def write_remote_code(src: Source, directory: Path, ckpt: Path) -> None:
    """Write the patched files flat into the checkpoint directory ``ckpt``."""
    ckpt.mkdir(parents=True, exist_ok=True)
    for name, text in patched_files(src, directory).items():
        (ckpt / name).write_text(text, encoding="utf-8")


def save_random_model(ckpt: Path, seed: int, torch_dtype: str) -> None:
    """The remote-code model of ``ckpt``'s config.json with random weights (``torch.manual_seed(seed)``,
    initialised in fp32 so the stream is the same whatever the storage dtype), saved in ``torch_dtype``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.from_pretrained(ckpt, trust_remote_code=True, local_files_only=True)
    cfg.torch_dtype = torch_dtype
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg, trust_remote_code=True, torch_dtype=torch.float32)
    model.to(getattr(torch, torch_dtype)).eval().save_pretrained(ckpt, safe_serialization=True)
