"""The images pods run, standing in for a registry and a container runtime's image
store: an image here is the eventfn installation of the test's own environment (what
``k8s/manifests/Dockerfile`` builds: ``ENTRYPOINT ["eventfn"]``, ``USER 10001:10001``,
``WORKDIR /tmp``, its ``ENV``), optionally plus a folder of user code on ``PYTHONPATH``
(what ``FROM eventfn`` + ``COPY`` of a function package would give)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Image:
    entrypoint: tuple[str, ...] = (str(BIN / "eventfn"),)
    cmd: tuple[str, ...] = ("--help",)
    env: tuple[tuple[str, str], ...] = ()
    user: int = 10001
    group: int = 10001
    workdir: str = "/tmp"
    #: host paths the image's files live in (the pod must be able to read them)
    paths: tuple[str, ...] = ()

    def environment(self) -> dict[str, str]:
        base = {
            "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "PIP_NO_CACHE_DIR": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
        base.update(dict(self.env))
        return base

    def files(self) -> list[str]:
        return sorted({sys.prefix, sys.base_prefix, str(REPO), *self.paths})


def eventfn_image(code: Path | None = None) -> Image:
    """The eventfn image, or one built ``FROM`` it with ``code`` on ``PYTHONPATH``."""
    if code is None:
        return Image()
    return Image(env=(("PYTHONPATH", str(code)),), paths=(str(code),))


@dataclass
class Registry:
    images: dict[str, Image] = field(default_factory=lambda: {"eventfn": eventfn_image()})

    def push(self, repository: str, image: Image) -> None:
        self.images[repository] = image

    def pull(self, reference: str) -> Image | None:
        repository = reference.split("@", 1)[0]
        last = repository.rsplit("/", 1)[-1]
        if ":" in last:
            repository = repository[: repository.rfind(":")]
        return self.images.get(repository)
