"""Typst compilation in a child process, under memory and CPU limits.

``python -m tasks.publish.typst_run ROOT STANDARDS EPOCH [FONTS]`` compiles
``ROOT/main.typ`` once per ``;``-separated set of standards of STANDARDS (e.g.
``ua-1;a-2b,ua-1``) into ``ROOT/out-0.pdf``, ``ROOT/out-1.pdf``… with one compiler (fonts
loaded once), using only Typst's embedded fonts and those of the folder FONTS (no system
fonts, no packages, root confined to ROOT); Typst's warnings are written one per line to
``ROOT/warnings.txt`` (font fallbacks are surfaced in French by the parent). All this after
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

    root, jobs, epoch = argv[0], argv[1].split(";"), int(argv[2])
    fonts = [argv[3]] if len(argv) > 3 and argv[3] else []
    resource.setrlimit(resource.RLIMIT_AS, (TYPST_MEMORY_BYTES, TYPST_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (TYPST_CPU_SECONDS, TYPST_CPU_SECONDS))
    import typst

    compiler = typst.Compiler(
        f"{root}/main.typ",
        root=root,
        font_paths=fonts,
        ignore_system_fonts=True,
        package_path=root,
        package_cache_path=root,
    )
    warnings: list[str] = []
    for i, job in enumerate(jobs):
        standards = [s for s in job.split(",") if s]
        try:
            pdf, found = compiler.compile_with_warnings(pdf_standards=standards, timestamp=epoch)
        except typst.TypstError as exc:
            first = str(exc).strip().splitlines()
            sys.stderr.write("TYPST:" + (first[0][:300] if first else "erreur") + "\n")
            return 3
        for w in found:
            text = " ".join(str(getattr(w, "message", w)).split())
            if text not in warnings:
                warnings.append(text)
        with open(f"{root}/out-{i}.pdf", "wb") as f:
            f.write(pdf)
    with open(f"{root}/warnings.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(warnings))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
