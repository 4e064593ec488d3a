"""Typst compilation in a child process, under memory and CPU limits.

``python -m tasks.publish.typst_run ROOT STANDARDS EPOCH`` compiles ``ROOT/main.typ``
into ``ROOT/out.pdf`` (no system fonts, no packages, root confined to ROOT) after
setting its own ``RLIMIT_AS`` (:data:`TYPST_MEMORY_BYTES`) and ``RLIMIT_CPU``. The
parent (:func:`tasks.publish.tools.typst_compile`) waits with a timeout: a runaway
document is stopped without signals in the parent's thread, so the bound holds inside
a Prefect task thread too. A Typst error is written to stderr as one line prefixed by
``TYPST:`` and the child exits with code 3.
"""

from __future__ import annotations

import sys

#: Address space allowed to the Typst child (bytes).
TYPST_MEMORY_BYTES = 3 * 1024**3
#: CPU seconds allowed to the Typst child.
TYPST_CPU_SECONDS = 150


def main(argv: list[str]) -> int:
    import resource

    root, standards, epoch = argv[0], [s for s in argv[1].split(",") if s], int(argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (TYPST_MEMORY_BYTES, TYPST_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (TYPST_CPU_SECONDS, TYPST_CPU_SECONDS))
    import typst

    try:
        pdf = typst.compile(
            f"{root}/main.typ",
            root=root,
            ignore_system_fonts=True,
            pdf_standards=standards,
            timestamp=epoch,
            package_path=root,
            package_cache_path=root,
        )
    except typst.TypstError as exc:
        first = str(exc).strip().splitlines()
        sys.stderr.write("TYPST:" + (first[0][:300] if first else "erreur") + "\n")
        return 3
    with open(f"{root}/out.pdf", "wb") as f:
        f.write(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
