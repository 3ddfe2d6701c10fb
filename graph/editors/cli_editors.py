"""The ontology editors' commands of ``sitegraph``: reason, lint, diff and docs (``graph.cli`` adds them to its
group with ``COMMANDS``; they import nothing from it, so ``python -m graph.cli`` sees them too).

Exit codes as for every command: 0 fine; 1 the ontology or data does not conform (inconsistent, unsatisfiable
classes, lint errors, a release check that fails); 2 usage or input error.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import UsageError


@click.command()
@click.option("--compile", "compile_sources", is_flag=True, help="Compile the sources instead of reading the release.")
@click.option("--ontology-only", is_flag=True, help="Reason over ontology/ alone, without the data.")
@click.option("--max-runs", default=40, show_default=True, help="HermiT runs allowed for explaining an inconsistency.")
@click.option("--format", "-f", "fmt", default="table", type=click.Choice(["table", "json"]), show_default=True)
@click.pass_obj
def reason(config, compile_sources: bool, ontology_only: bool, max_runs: int, fmt: str) -> None:
    """Run HermiT over ontology/ and the data (the built release, or --compile): consistency, unsatisfiable
    classes, inferred subsumptions and types; explain an inconsistency. Exit 1 on inconsistency or
    unsatisfiable classes."""
    import json

    from .reason_command import ReasoningFailed, format_text, reason, to_json

    report = reason(config, compile_sources, ontology_only, max_runs)
    click.echo(json.dumps(to_json(report), indent=2, ensure_ascii=False) if fmt == "json" else format_text(report))
    if report.problems:
        raise ReasoningFailed(report.problems)


@click.command()
@click.option(
    "--data",
    "data_mode",
    default="release",
    show_default=True,
    type=click.Choice(["release", "compile", "none"]),
    help="Data to check: the current release, the sources compiled in memory, or none.",
)
@click.option("--format", "-f", "fmt", default="table", type=click.Choice(["table", "json"]), show_default=True)
@click.option("--fail-on", default="error", type=click.Choice(["error", "warning"]), show_default=True)
@click.pass_obj
def lint(config, data_mode: str, fmt: str, fail_on: str) -> None:
    """Report on the ontology, shapes, queries and data: labels (en/ru), definitions, domains and ranges,
    undeclared and deprecated terms, shapes on unknown classes or paths, classes without shapes, duplicate labels,
    ontology metadata. Exit 1 when there are errors (or warnings, with --fail-on warning)."""
    from .lint import LintFailed, lint, read_project
    from .lint_report import format_json, format_table

    project = read_project(config, data_mode)
    origin = project.data.origin if project.data is not None else "no data"
    findings = lint(project)
    click.echo(format_json(findings, origin) if fmt == "json" else format_table(findings, origin))
    failing = [f for f in findings if f.level == "error" or (fail_on == "warning" and f.level == "warning")]
    if failing:
        raise LintFailed(failing)


@click.command()
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.option(
    "--check-release",
    is_flag=True,
    help="Fail unless a changed ontology has a new owl:versionInfo, its owl:versionIRI and a CHANGELOG.md line. "
    "Without OLD and NEW: the last change to ontology/ (uncommitted edits against HEAD, else the parent of the "
    "last commit that changed ontology/ against HEAD).",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the Markdown there instead of stdout.")
@click.pass_obj
def diff(config, old: str | None, new: str | None, check_release: bool, output: str | None) -> None:
    """Compare two versions of the ontology — each a file, a folder or a git revision (HEAD~3, a tag) — and
    print the changes as Markdown: terms, labels, definitions, domains, ranges and axioms added, removed or
    changed, breaking changes flagged."""
    from .diff import compare
    from .diff_report import ReleaseCheckFailed, markdown
    from .diff_report import check_release as check
    from .revisions import auto_pair, resolve, working_tree

    if old is None and not check_release:
        raise UsageError("give OLD and NEW (files, folders or git revisions), or --check-release")
    if old is None:
        pair = auto_pair(config.project)
        if isinstance(pair, str):
            click.echo(f"release check: {pair}")
            return
        before, after = pair
    else:
        before = resolve(old, config.project)
        after = resolve(new, config.project) if new else working_tree(config.project)
    result = compare(before.graph, after.graph, before.label, after.label)
    text = markdown(result)
    if output:
        Path(output).write_text(text, encoding="utf-8")
    elif not check_release:
        click.echo(text.rstrip("\n"))
    if check_release:
        problems = check(result, before, after)
        if problems:
            raise ReleaseCheckFailed(problems)
        state = "unchanged" if result.empty else f"changed, version {before.version} → {after.version}, CHANGELOG ok"
        click.echo(f"release check: {before.label} → {after.label}: ontology {state}")


@click.command()
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False), help="Write ontology.html, .owl, .svg and the catalog."
)
@click.option("--diagram", "diagram_file", type=click.Path(dir_okay=False), help="Write only the diagram (SVG) there.")
@click.pass_obj
def docs(config, out_dir: str | None, diagram_file: str | None) -> None:
    """Generate the ontology's documentation from ontology/ and shapes/ as they are now (examples from the
    current release): the HTML page, RDF/XML for Protégé with its catalog, and the class diagram. Every build
    puts the same files into its release; README's diagram is docs/ontology.svg (--diagram docs/ontology.svg)."""
    from ..namespaces import DataIRIs
    from .release_docs import project_files

    if not out_dir and not diagram_file:
        raise UsageError("give --out DIR and/or --diagram FILE")
    files, origin = project_files(config.project, config.path("build_dir"), DataIRIs(config.base_iri))
    written = []
    if diagram_file:
        Path(diagram_file).parent.mkdir(parents=True, exist_ok=True)
        Path(diagram_file).write_bytes(files["ontology.svg"])
        written.append(diagram_file)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (Path(out_dir) / name).write_bytes(content)
            written.append(str(Path(out_dir) / name))
    click.echo(f"documentation ({origin}): {', '.join(written)}")


COMMANDS = (reason, lint, diff, docs)
