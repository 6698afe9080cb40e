"""The ``snnconform`` command: run, check, fuzz, fixtures, report, merge, compare, divergences, impls.

Every subcommand returns an exit code: 0 pass, 1 the gate failed (or something regressed),
2 the command could not do its job (bad arguments, configuration, corpus).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from snnconform.core._cases import CorpusError, Selection, parse_shard
from snnconform.core._config import Config, ConfigError, Implementation, find_config, load_config
from snnconform.core._divergences import DivergenceError, load_divergences
from snnconform.core._domain import InputError
from snnconform.core._regressions import corpus_bytes, corpus_cases, pending_problems
from snnconform.core._report import exit_code

RESULTS_NAME = "bench_transfer.json"
MARKDOWN_NAME = "conformance.md"
HTML_NAME = "conformance.html"


class UsageError(Exception):
    """Arguments that cannot be honoured; exit status 2."""


# ------------------------------------------------------------------------- shared options


def _common() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--config", type=Path, help="conformance.toml (default: found upward from here)")
    parser.add_argument("--json", action="store_true", help="print the machine-readable result on stdout")
    return parser


def _add_impl_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--impl", action="append", default=[], metavar="NAME",
                       help="run only this implementation (repeatable; default: all configured)")
    group.add_argument("--exclude", action="append", default=[], metavar="NAME",
                       help="leave this implementation out; the gate then ignores it (repeatable)")


def _selection() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("selection")
    _add_impl_options(group)
    group.add_argument("--case", action="append", default=[], metavar="ID",
                       help="only cases whose id matches (glob, repeatable)")
    group.add_argument("--invariant", action="append", default=[], metavar="ID",
                       help="only cases covering a matching invariant (glob, repeatable)")
    group.add_argument("--shard", type=parse_shard, metavar="K/N",
                       help="only the K-th of N interleaved slices of the selected cases")
    return parser


def _execution() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("execution")
    group.add_argument("--jobs", type=int, default=1, metavar="N", help="parallel testees (default 1)")
    group.add_argument("--timeout", type=float, metavar="SECONDS",
                       help="per-case timeout (default: conformance.toml, else 10)")
    group.add_argument("--build", action="store_true",
                       help="run each implementation's setup, build and unit tests first")
    group.add_argument("--validate-protocol", action="store_true",
                       help="check every protocol message (and the corpus) against the JSON Schemas")
    group.add_argument("--junit", type=Path, metavar="PATH", help="also write JUnit XML here")
    group.add_argument("--results", type=Path, metavar="DIR",
                       help="write bench_transfer.json and conformance.md here (default: the "
                            "configured folder, for runs without case filters)")
    group.add_argument("--no-write", action="store_true", help="write no result files")
    group.add_argument("--no-bench", action="store_true", help="skip the reference benchmarks")
    group.add_argument("--no-fuzz", action="store_true",
                       help="skip the fuzz pass that ends a full run (conformance.toml [fuzz])")
    group.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config if args.config else find_config())


def _implementations(config: Config, args: argparse.Namespace) -> tuple[list[Implementation], list[str]]:
    for name in [*args.impl, *args.exclude]:
        config.implementation(name)  # unknown names fail loudly
    chosen = [config.implementation(n) for n in dict.fromkeys(args.impl)] if args.impl else list(
        config.implementations
    )
    excluded = [i.name for i in chosen if i.name in args.exclude]
    return [i for i in chosen if i.name not in args.exclude], excluded


def _results_doc(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read a results document ({exc})") from None
    if not isinstance(doc, dict) or "implementations" not in doc:
        raise UsageError(f"{path}: not a snnconform results document")
    return doc


def _corpora(config: Config) -> list[Path]:
    """The folders holding the cases' files: the corpus, then the regression corpus."""
    return [config.fixtures, *([config.regressions] if config.regressions is not None else [])]


def _corpus_cases(config: Config) -> list[Any] | None:
    """The corpus's cases for the HTML report of a saved run; None when there is none."""
    try:
        return corpus_cases(config)
    except CorpusError:
        return None


def _write_results(write_dir: Path, doc: dict[str, Any], config: Config,
                   cases: Sequence[Any] | None) -> None:
    """bench_transfer.json, conformance.md and conformance.html, side by side."""
    from snnconform.core._html import write_html
    from snnconform.core._render import markdown

    write_dir.mkdir(parents=True, exist_ok=True)
    (write_dir / RESULTS_NAME).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (write_dir / MARKDOWN_NAME).write_text(markdown(doc) + _mutation_section(config), "utf-8")
    write_html(write_dir / HTML_NAME, doc, cases, _corpora(config))


def _mutation_section(config: Config) -> str:
    """The last mutation self-test's results (committed beside the results), if any."""
    from snnconform.core._mutation import RESULTS_NAME as MUTATION, markdown as mutation_markdown

    try:
        document = json.loads((config.results / MUTATION).read_text("utf-8"))
    except (OSError, ValueError):
        return ""
    return "\n" + "\n".join(mutation_markdown(document))


# -------------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    from snnconform.core._divergences import apply_divergences, unused_entries
    from snnconform.core._domain import corpus_figures, load_spec_info, reference_executor
    from snnconform.core._junit import write_junit
    from snnconform.core._progress import ProgressBar
    from snnconform.core._render import terminal_summary
    from snnconform.core._report import Extras, build_document, corpus_summary
    from snnconform.core._runner import RunOptions, run_suite

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    config = _config(args)
    impls, excluded = _implementations(config, args)
    spec = load_spec_info(config)
    all_cases = corpus_cases(config, validate=args.validate_protocol)  # then the regressions
    selection = Selection(tuple(args.case), tuple(args.invariant), args.shard)
    cases = selection.apply(all_cases)
    divergences = load_divergences(config.known_divergences)
    reference = reference_executor(config)
    options = RunOptions(
        timeout=args.timeout or config.timeout, jobs=args.jobs, build=args.build,
        validate_protocol=args.validate_protocol,
    )
    progress = ProgressBar(len(cases) * (len(impls) + (reference is not None)),
                           enabled=not args.quiet)

    suite = run_suite(config, impls, cases, options, reference=reference, spec_version=spec.spec_version,
                      progress=progress, on_prepared=_report_preparation(progress, len(cases)))
    progress.close()
    judgments, divergence_problems = apply_divergences(suite.judgments, divergences)
    ran = {run.impl.name for run in suite.runs if run.runnable}
    if not selection.is_filtered:
        divergence_problems += unused_entries(judgments, divergences, ran) + pending_problems(config)
    write_dir = None if args.no_write else args.results or (
        None if selection.is_filtered else config.results
    )
    benchmarks, bench_problems = ({}, []) if write_dir is None or args.no_bench else \
        _run_benchmarks(config, progress.note)
    extras = Extras(
        spec_version=spec.spec_version,
        invariants=spec.invariants,
        corpus=corpus_figures(config) or corpus_summary(all_cases, spec.invariants),
        excluded=excluded,
        filtered=selection.is_filtered,
        divergence_problems=divergence_problems,
        benchmarks=benchmarks,
        benchmark_problems=bench_problems,
        options={"jobs": options.jobs, "timeout": options.timeout, "build": options.build,
                 "validate_protocol": options.validate_protocol},
        corpus_sha256=hashlib.sha256(corpus_bytes(config)).hexdigest(),
    )
    if not selection.is_filtered:
        _add_suites(extras, config, suite, reference, options, spec, progress.note, args)
    doc = build_document(suite, judgments, extras)
    if write_dir is not None:
        _write_results(write_dir, doc, config, all_cases)
    if args.junit:
        write_junit(args.junit, judgments, suite.seconds)
    summary = terminal_summary(doc)
    if excluded:
        summary = f"excluded: {', '.join(excluded)}\n{summary}"
    _emit(args, doc, summary + (f"\nresults: {write_dir / RESULTS_NAME}" if write_dir else ""))
    return exit_code(doc)


def _report_preparation(progress: Any, cases: int) -> Callable[[Any], None]:
    """What to say once an implementation is set up, built and tested (or failed to be)."""
    def prepared(run: Any) -> None:
        for step in ("setup", "build", "unit_tests"):
            result = getattr(run, step)
            if result.status in ("passed", "failed"):
                progress.note(f"{run.impl.name}: {step} {result.status} in {result.seconds:.1f} s")
        if run.problem:
            progress.note(f"{run.impl.name}: {run.problem}")
            progress.drop(cases)

    return prepared


def _run_benchmarks(config: Config, note: Any) -> tuple[dict[str, Any], list[str]]:
    """The configured benchmark commands: each prints one JSON object (or is a problem)."""
    from snnconform.core._steps import run_json

    benchmarks: dict[str, Any] = {}
    problems: list[str] = []
    for name, command in config.benchmarks.items():
        note(f"benchmark {name}: {command}")
        value, problem = run_json(config.expand(command), config.root, timeout=600)
        if value is None:
            problems.append(f"benchmark {name}: {problem}")
        else:
            benchmarks[name] = value
    return benchmarks, problems


def _add_suites(extras: Any, config: Config, suite: Any, reference: Any, options: Any,
                spec: Any, note: Any, args: argparse.Namespace) -> None:
    """Run the domain's suites, then the fuzz pass (a full run only), and record them in
    ``extras``."""
    from snnconform.core._suites import SuiteContext, run_suites

    context = SuiteContext(config, suite.runs, suite.cases, reference, options.timeout,
                           spec.spec_version, options.validate_protocol, note)
    reports = run_suites(context)
    extras.suites = {name: {**r.summary, "markdown": list(r.markdown)} for name, r in reports.items()}
    extras.suite_problems = [problem for r in reports.values() for problem in r.problems]
    if config.fuzz.enabled and not args.no_fuzz:
        _add_fuzz(extras, config, suite, reference, spec, options.timeout, args.quiet)


def _add_fuzz(extras: Any, config: Config, suite: Any, reference: Any, spec: Any, timeout: float,
              quiet: bool) -> None:
    """The bounded, fixed-seed fuzz pass of a full run (``[fuzz]``), stored as ``fuzz`` beside
    the suites; every finding fails the gate. It writes no regression: ``snnconform fuzz`` with
    the same seed reproduces and records what it finds."""
    from snnconform.core._domain import fuzz_source
    from snnconform.core._fuzz import FuzzOptions, markdown, run_fuzz

    runs = [run for run in suite.runs if run.runnable and run.started is not None]
    if reference is None:
        raise ConfigError("[fuzz] needs [domain] reference: the reference is the fuzz's yardstick")
    settings = config.fuzz
    options = FuzzOptions(seed=settings.seed, seconds=settings.seconds, cases=settings.cases,
                          jobs=settings.jobs, timeout=timeout, write=False, shrink=False)
    report = run_fuzz(config, [run.impl for run in runs], spec=spec.spec,
                      spec_version=spec.spec_version, reference=reference,
                      factory=fuzz_source(config), options=options, invariants=spec.invariants,
                      divergences=load_divergences(config.known_divergences),
                      stream=None if quiet else sys.stderr)
    figures = report.to_json()
    summary = {key: figures[key] for key in ("cases", "cases_per_second", "findings", "seed",
                                             "seconds", "executions", "executions_per_second",
                                             "implementations")}
    summary["finding_details"] = figures["finding_details"]
    extras.suites = {**extras.suites, "fuzz": {**summary, "markdown": markdown(report)}}
    rerun = f"snnconform fuzz --seed {settings.seed} --cases {max(report.cases, 1)}"
    extras.suite_problems = [*extras.suite_problems, *report.problems] + [
        f"fuzz: {'; '.join(p.describe() for p in f.problems)} (first in {f.case_id}; "
        f"reproduce and record it: {rerun})" for f in report.findings]


def _config_for_check(args: argparse.Namespace) -> Config:
    """As for every command, but a user checking files outside the repository still gets the
    configuration of the installed harness (an editable install's repository root)."""
    if args.config:
        return load_config(args.config)
    try:
        return load_config(find_config())
    except ConfigError:
        installed = Path(__file__).resolve().parents[3] / "conformance.toml"
        if installed.is_file():
            return load_config(installed)
        raise


def cmd_check(args: argparse.Namespace) -> int:
    from snnconform.core._check import check_document, render_check, run_check
    from snnconform.core._domain import check_inputs, load_spec_info, reference_executor
    from snnconform.core._progress import ProgressBar

    config = _config_for_check(args)
    impls, excluded = _implementations(config, args)
    inputs = check_inputs(config, args.paths)
    if not inputs:
        raise UsageError("nothing to check")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    spec = load_spec_info(config)
    reference = reference_executor(config)
    progress = ProgressBar(len(inputs) * (len(impls) + (reference is not None)),
                           enabled=not args.quiet)
    result = run_check(
        config, impls, inputs, timeout=args.timeout or config.timeout, reference=reference,
        spec_version=spec.spec_version, named=bool(args.impl),
        require_accept=args.require_accept, progress=progress,
    )
    progress.close()
    text = render_check(result)
    if excluded:
        text = f"excluded: {', '.join(excluded)}\n{text}"
    _emit(args, check_document(result), text)
    return 0 if result.passed else 1


def cmd_mutation(args: argparse.Namespace) -> int:
    from snnconform.core._domain import load_spec_info
    from snnconform.core._mutation import Tally, mutate_implementation, record

    config = _config(args)
    impls, _ = _implementations(config, args)
    spec = load_spec_info(config)
    cases = corpus_cases(config)  # the regression cases kill mutants too
    tallies: dict[str, Tally] = {}
    for impl in impls:
        if impl.mutation:
            note = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
            tallies[impl.name] = mutate_implementation(
                config, impl, cases, spec.invariants, spec.spec_version, args.mutant or ["*"], note,
                args.timeout or config.timeout)
    document = {"implementations": {name: tally.as_dict() for name, tally in tallies.items()}}
    if not args.mutant:
        document = record(config.results, spec.spec_version, tallies)
    lines = [f"{name}: {entry['killed']}/{entry['mutants']} killed, survived {entry['survived'] or 'none'}"
             + (f", stale {entry['stale']}" if entry["stale"] else "")
             + (f", uncovered {entry['uncovered_invariants']}" if entry["uncovered_invariants"] else "")
             + (f", {entry['baseline_problem']}" if entry["baseline_problem"] else "")
             for name, entry in document["implementations"].items() if name in tallies]
    _emit(args, document, "\n".join(lines))
    return 0 if tallies and all(tally.perfect for tally in tallies.values()) else 1


def cmd_fixtures(args: argparse.Namespace) -> int:
    from snnconform.core._domain import load_spec_info, reference_executor, write_corpus
    from snnconform.core._regressions import refresh

    config = _config(args)
    out = args.out or config.fixtures
    summary = dict(write_corpus(config, load_spec_info(config), out))
    # Every count the domain's summary gives (cases per class, invariants, ...), in its order.
    keys = [k for k, v in summary.items() if isinstance(v, int) and not isinstance(v, bool)]
    text = "\n".join(f"{k:>24}: {summary.get(k)}" for k in keys) + f"\n{'written to':>24}: {out}"
    reference = reference_executor(config)
    if args.out is None and reference is not None and config.regressions is not None:
        # The regression cases follow the reference too (their files are never rewritten).
        summary["regressions"] = refreshed = refresh(config, reference)
        text += (f"\n{'regressions':>24}: {refreshed['cases']} case(s), "
                 f"{refreshed['changed']} expectation(s) changed, {refreshed['pending']} pending")
    _emit(args, summary, text)
    return 0


def cmd_fuzz(args: argparse.Namespace) -> int:
    import random

    from snnconform.core._domain import fuzz_source, load_spec_info, reference_executor
    from snnconform.core._fuzz import FuzzOptions, render, run_fuzz
    from snnconform.core._steps import probe

    for name in ("seconds", "timeout"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            raise UsageError(f"--{name} must be positive")
    for name in ("cases", "jobs"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name} must be at least 1")
    config = _config(args)
    impls, excluded = _implementations(config, args)
    spec = load_spec_info(config)
    reference = reference_executor(config)
    if reference is None:
        raise ConfigError("conformance.toml [domain] has no reference: fuzzing needs a yardstick")
    factory = fuzz_source(config)
    chosen, problems, notes = [], [], [f"excluded: {name}" for name in excluded]
    for impl in impls:
        available, toolchain = probe(config.expand(impl.probe) if impl.probe else None, config.root)
        if available:
            chosen.append(impl)
        elif args.impl:
            problems.append(f"{impl.name}: not available ({toolchain}): {impl.install}")
        else:
            notes.append(f"{impl.name}: left out, not available ({toolchain})")
    seconds = args.seconds if args.seconds is not None or args.cases is not None else 60.0
    options = FuzzOptions(
        seed=args.seed if args.seed is not None else random.SystemRandom().randrange(2**31),
        seconds=seconds, cases=args.cases, jobs=args.jobs, timeout=args.timeout or config.timeout,
        write=not args.no_write, validate_protocol=args.validate_protocol,
    )
    report = run_fuzz(config, chosen, spec=spec.spec, spec_version=spec.spec_version,
                      reference=reference, factory=factory, options=options,
                      invariants=spec.invariants,
                      divergences=load_divergences(config.known_divergences),
                      stream=None if args.quiet else sys.stderr)
    report.problems[:0] = problems
    report.notes[:0] = notes
    _emit(args, report.to_json(), render(report))
    return 0 if report.passed else 1


def cmd_report(args: argparse.Namespace) -> int:
    from snnconform.core._render import markdown, terminal_summary

    config = _config(args)
    source = args.source or config.results / RESULTS_NAME
    doc = _results_doc(source)
    if args.markdown:
        args.markdown.write_text(markdown(doc), "utf-8")
    if args.html:
        from snnconform.core._html import write_html

        write_html(args.html, doc, _corpus_cases(config), _corpora(config))
    _emit(args, doc, terminal_summary(doc))
    return exit_code(doc)


def cmd_merge(args: argparse.Namespace) -> int:
    from snnconform.core._merge import MergeError, merge_documents
    from snnconform.core._render import terminal_summary

    config = _config(args)
    shards = [(str(path), _results_doc(path)) for path in args.shards]
    try:
        doc = merge_documents(shards, [impl.name for impl in config.implementations])
    except MergeError as exc:
        raise UsageError(str(exc)) from None
    write_dir = args.results or config.results
    _write_results(write_dir, doc, config, _corpus_cases(config))
    _emit(args, doc, f"{terminal_summary(doc)}\nresults: {write_dir / RESULTS_NAME}")
    return exit_code(doc)


def cmd_compare(args: argparse.Namespace) -> int:
    from snnconform.core._compare import compare_documents

    changes = compare_documents(_results_doc(args.old), _results_doc(args.new))
    lines = []
    for section, items in changes.items():
        lines.append(f"{section}: {len(items)}")
        lines.extend(f"  {item}" for item in items)
    _emit(args, changes, "\n".join(lines))
    return 1 if changes["regressed"] else 0


def cmd_divergences(args: argparse.Namespace) -> int:
    from snnconform.core._divergences import render_got, rewrite_entries, write_divergences

    config = _config(args)
    entries = load_divergences(config.known_divergences)
    if args.rewrite:
        doc = _results_doc(args.source or config.results / RESULTS_NAME)
        if doc.get("environment", {}).get("filtered"):
            raise UsageError("the results come from a filtered run; rewrite from a full run")
        failures = [d for d in doc["disagreements"] if d["kind"] in (
            "known", "disagreed", "crashed", "malformed", "errored", "timed_out", "skipped")]
        entries = rewrite_entries(failures, entries)
        write_divergences(config.known_divergences, entries)
    listing = [
        {"implementation": e.implementation, "scope": e.scope, "reason": e.reason, "got": dict(e.got)}
        for e in entries
    ]
    text = "\n".join(f"{e.implementation} {e.scope}: {render_got(e.got)}\n    {e.reason}" for e in entries)
    verb = "rewrote" if args.rewrite else "lists"
    text = f"{config.known_divergences.name} {verb} {len(entries)} known divergence(s)\n{text}".rstrip()
    _emit(args, listing, text)
    return 0


def cmd_impls(args: argparse.Namespace) -> int:
    from snnconform.core._steps import probe

    config = _config(args)
    impls, excluded = _implementations(config, args)
    rows = []
    for impl in impls:
        available, output = probe(config.expand(impl.probe) if impl.probe else None, config.root)
        rows.append({"name": impl.name, "available": available, "toolchain": output,
                     "install": impl.install})
    lines = [
        f"{r['name']}: {r['toolchain'] or 'available'}" if r["available"]
        else f"{r['name']}: not available: {r['install']}"
        for r in rows
    ] + [f"{name}: excluded" for name in excluded]
    _emit(args, rows, "\n".join(lines))
    return 0 if all(r["available"] for r in rows) else 1


def _emit(args: argparse.Namespace, value: Any, text: str) -> None:
    if args.json:
        print(json.dumps(value, indent=2, ensure_ascii=False))
        print(text, file=sys.stderr)
    else:
        print(text)


# ------------------------------------------------------------------------------ the parser


# Longer than usual: one declaration per subcommand, so it reads as the CLI's table of contents.
def build_parser() -> argparse.ArgumentParser:
    common, selection, execution = _common(), _selection(), _execution()
    parser = argparse.ArgumentParser(prog="snnconform", description="A polyglot conformance harness.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help: str,
            parents: Sequence[argparse.ArgumentParser]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common, *parents])
        p.set_defaults(func=func)
        return p

    add("run", cmd_run, "run the corpus on the implementations and gate on the result",
        [selection, execution])
    check = add("check", cmd_check, "run every implementation on your own inputs (e.g. checkpoint "
                "pairs) and show whether they agree", [])
    check.add_argument("paths", nargs="+", metavar="PATH",
                       help="what to check, as the domain understands it (checkpoints: a pair's "
                            "base path, NAME.json or NAME.npz, or a folder to search for pairs)")
    check_group = check.add_argument_group("check")
    _add_impl_options(check_group)
    check_group.add_argument("--timeout", type=float, metavar="SECONDS",
                             help="per input and implementation (default: conformance.toml, else 10)")
    check_group.add_argument("--require-accept", action="store_true",
                             help="also fail (exit 1) when any input is refused")
    check_group.add_argument("--quiet", action="store_true", help="no progress output")
    mutation = add("mutation", cmd_mutation, "the mutation self-test: apply each mutant of "
                   "mutants/<impl>/ in a scratch copy, rebuild, run the corpus (must kill it)", [])
    mutation_group = mutation.add_argument_group("mutation")
    _add_impl_options(mutation_group)
    mutation_group.add_argument("--mutant", action="append", metavar="GLOB",
                                help="only mutants matching a GLOB (repeatable; then mutation.json is not written)")
    mutation_group.add_argument("--timeout", type=float, metavar="SECONDS", help="per case")
    mutation_group.add_argument("--quiet", action="store_true", help="no progress output")
    fuzz = add("fuzz", cmd_fuzz, "draw cases, run them on every implementation at once, and shrink "
               "and record every disagreement, crash or hang", [])
    fuzz_group = fuzz.add_argument_group("fuzz")
    _add_impl_options(fuzz_group)
    fuzz_group.add_argument("--seconds", type=float, metavar="N",
                            help="fuzz this long (default 60 when --cases is not given either)")
    fuzz_group.add_argument("--cases", type=int, metavar="N", help="stop after N drawn cases")
    fuzz_group.add_argument("--seed", type=int, metavar="N",
                            help="random seed (default: a fresh one, printed in the summary)")
    fuzz_group.add_argument("--jobs", type=int, default=1, metavar="N",
                            help="parallel lanes, each with its own testees (default 1)")
    fuzz_group.add_argument("--timeout", type=float, metavar="SECONDS",
                            help="per case and implementation (default: conformance.toml, else 10)")
    fuzz_group.add_argument("--no-write", action="store_true",
                            help="report findings without writing them to the regression corpus")
    fuzz_group.add_argument("--validate-protocol", action="store_true",
                            help="check every protocol message against the JSON Schemas")
    fuzz_group.add_argument("--quiet", action="store_true", help="no progress output")
    add("fixtures", cmd_fixtures, "regenerate the corpus from the spec and print its coverage",
        []).add_argument("--out", type=Path, help="corpus folder (default: configured fixtures)")
    report = add("report", cmd_report, "summarise a saved results document", [])
    report.add_argument("--from", dest="source", type=Path, help="results document to read")
    report.add_argument("--markdown", type=Path, help="also write the Markdown report here")
    report.add_argument("--html", type=Path, help="also write the HTML report here")
    merge = add("merge", cmd_merge, "merge per-implementation results documents of one corpus "
                "(CI shards) into one, and gate on it", [])
    merge.add_argument("shards", nargs="+", type=Path, metavar="RESULTS.json",
                       help="bench_transfer.json of each shard")
    merge.add_argument("--results", type=Path, metavar="DIR",
                       help="write the merged bench_transfer.json, conformance.md and "
                            "conformance.html here (default: the configured folder)")
    compare = add("compare", cmd_compare, "what regressed or got fixed between two results documents", [])
    compare.add_argument("old", type=Path)
    compare.add_argument("new", type=Path)
    divergences = add("divergences", cmd_divergences, "list or rewrite known-divergences.toml", [])
    divergences.add_argument("--rewrite", action="store_true",
                             help="make the list match the failures of a saved full run")
    divergences.add_argument("--from", dest="source", type=Path, help="results document to read")
    impls = add("impls", cmd_impls, "probe each implementation's toolchain", [selection])
    del impls
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (UsageError, ConfigError, CorpusError, DivergenceError, InputError) as exc:
        print(f"snnconform {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("snnconform: interrupted", file=sys.stderr)
        return 130
