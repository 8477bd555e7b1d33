"""The ``reportgen`` command: run, build, serve, env, export, merge, compare."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from rich.console import Console
from rich.text import Text

from reportgen import __version__
from reportgen.config import (
    DEFAULT_PROFILE,
    DEVICES,
    FRAMEWORKS,
    PROFILES,
    config_profile_name,
    get_profile,
    load_config,
)
from reportgen.errors import ReportgenError
from reportgen.store.merge import add_parser as add_merge_parser
from reportgen.store.merge import cmd_merge
from reportgen.store.paths import ensure_writable, path_argument

if TYPE_CHECKING:
    from reportgen.store.results import LoadedResults

DESCRIPTION = """\
Measure ResNet-18 in PyTorch, TensorFlow/Keras, TFLite, ONNX Runtime, OpenVINO and ONNX Runtime Web
(headless Chromium) on this machine, store the raw results, and publish them as a static MkDocs site.

typical use:
  reportgen run                  measure with the default (quick) profile, then build the site
  reportgen serve                preview the site at http://127.0.0.1:8000/
  reportgen export --format csv  every measured value as one CSV row
"""


EXIT_OUTPUT_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for a program its closed pipe stopped
SEED_MAX = 2**32 - 1  # NumPy's legacy seeding (and so Keras' and TensorFlow's) refuses any seed above


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _dirs(p: argparse.ArgumentParser, site: bool = True) -> None:
    p.add_argument("--results-dir", type=path_argument, default=Path("results"), metavar="DIR",
                   help="where results files are stored, one folder per machine (default: ./results)")
    if site:
        p.add_argument("--site-dir", type=path_argument, default=Path("site"), metavar="DIR",
                       help="where the built site goes (default: ./site)")


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per verb, each with its --help."""
    parser = _Parser(prog="reportgen", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"reportgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    profiles = " ".join(f"{p.name}: {p.description}" for p in PROFILES.values())
    run = sub.add_parser("run", help="measure, store the results, regenerate the pages and build the site",
                         description="Measure every scenario of a profile, each framework in its own "
                         "subprocess, store the results after each measurement, then build the site.")
    run.add_argument("--profile", default=None, metavar="NAME",
                     help=f"how long to measure (default: {DEFAULT_PROFILE}). {profiles}")
    run.add_argument("--device", default="auto", metavar="DEVICE",
                     help="auto (CUDA when present, else CPU), cpu or cuda (default: auto)")
    left_out = "; ".join(f"{p.name} leaves out {', '.join(p.leaves_out)}" for p in PROFILES.values() if p.leaves_out)
    run.add_argument("--frameworks", nargs="+", metavar="NAME",
                     help=f"which to measure: {', '.join(FRAMEWORKS)}, or all (default: every one the profile "
                          f"measures{'; ' + left_out if left_out else ''})")
    run.add_argument("--threads", type=int, default=0, metavar="N",
                     help="threads per measuring process (default: one per physical core)")
    run.add_argument("--seed", type=_seed, default=0,
                     help=f"seed of the weights and the inputs, 0-{SEED_MAX} (default: 0)")
    run.add_argument("--dataset", metavar="NAME",
                     help="what the training scenario trains on (default: the profile's): digits (bundled with "
                          "scikit-learn), cifar10 (downloaded once and cached), synthetic (random images), or "
                          "folder:PATH (one subfolder of images per class)")
    run.add_argument("--config", type=path_argument, metavar="FILE",
                     help="TOML file overriding profile values, e.g. [inference.timing] min_count = 100")
    run.add_argument("--resume", action="store_true",
                     help="continue this machine's latest interrupted run instead of starting a new one")
    run.add_argument("--no-build", action="store_true", help="store results but do not build the site")
    run.add_argument("--envs", metavar="DIR|single",
                     help="where each framework family's environment is: a folder that `make install` filled "
                          "(default: .envs of the checkout when it exists), or 'single' to run every framework in "
                          "this interpreter (a preinstalled image, pip install 'reportgen[all]'); also "
                          "REPORTGEN_ENVS")
    _dirs(run)

    build = sub.add_parser("build", help="regenerate the pages from stored results and build the site "
                           "(never measures)")
    _dirs(build)
    build.add_argument("--demo-dir", type=path_argument, action="append", default=[], metavar="DIR",
                       help="another folder to look in for runs' Try-it files (<run-id>.demo/, which `reportgen "
                            "merge` does not copy), e.g. the downloaded results of the publish workflow; repeatable")

    serve = sub.add_parser("serve", help="preview the built site with a local static file server")
    serve.add_argument("--site-dir", type=path_argument, default=Path("site"), metavar="DIR",
                       help="the built site (default: ./site)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port, 1-65535 (default: 8000)")

    env = sub.add_parser("env", help="print the detected hardware and software")
    env.add_argument("--json", action="store_true", help="print JSON instead of a table")

    export = sub.add_parser("export", help="print stored results, one row per measured value")
    _dirs(export, site=False)
    export.add_argument("--run", default="latest", metavar="RUN",
                        help="latest (default), all, or a run id")
    export.add_argument("--format", default="csv", choices=("csv", "json", "markdown"),
                        help="output format (default: csv)")
    export.add_argument("--output", type=path_argument, metavar="FILE", help="write to FILE instead of standard output")
    add_merge_parser(sub)

    compare = sub.add_parser("compare", help="compare two stored runs variant by variant and flag regressions",
                             description="Per batch-1 variant measured in both runs: the speed-up of NEW over BASE "
                             "with its 95% interval (round medians, Welch t on the logs) and a verdict. BASE "
                             "defaults to the complete run before NEW on the same machine, NEW to the latest "
                             "complete run.",
                             epilog="exit status: 0 when compared (no slowdown, or --fail-on-regression not given); "
                             "1 when a variant is slower beyond doubt and --fail-on-regression is given; 2 on bad "
                             f"input (an unknown run, no run to compare); {EXIT_OUTPUT_CLOSED} when the output was "
                             "closed before everything was printed (e.g. piped into head).")
    compare.add_argument("base", nargs="?", metavar="BASE", help="run id of the earlier run")
    compare.add_argument("new", nargs="?", metavar="NEW", help="run id of the later run (default: latest)")
    compare.add_argument("--fail-on-regression", action="store_true",
                         help="exit with status 1 when any variant is slower beyond doubt")
    _dirs(compare, site=False)
    return parser


def _port(text: str) -> int:
    """A TCP port number, or argparse's one-line error."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range 1-65535")
    return port


def _seed(text: str) -> int:
    """A seed every framework accepts, or argparse's one-line error."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:40]!r}") from None
    if not 0 <= seed <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be between 0 and {SEED_MAX} (NumPy's seed range)")
    return seed


def _frameworks(values: list[str]) -> list[str]:
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    unknown = [n for n in names if n not in (*FRAMEWORKS, "all")]
    if unknown:
        raise ReportgenError(f"unknown framework {unknown[0]!r}; choose from: {', '.join(FRAMEWORKS)}, or all")
    return list(FRAMEWORKS) if "all" in names else list(dict.fromkeys(names))


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    """``reportgen run``: measure this machine, store the run, rebuild the site."""
    from reportgen.process import envs
    from reportgen.run.pipeline import RunOptions, measure
    from reportgen.scenarios.training import TRAINERS

    if args.device not in DEVICES:
        raise ReportgenError(f"unknown device {args.device!r}; choose auto, cpu or cuda")
    if args.envs:
        os.environ[envs.ENVS_VARIABLE] = args.envs  # the children read it too
    envs.mode()  # a folder without a manifest is refused now, in one line
    name = args.profile or (args.config and config_profile_name(args.config)) or DEFAULT_PROFILE
    profile = get_profile(name)
    if args.config:
        profile = load_config(args.config, profile)
    if args.threads < 0:
        raise ReportgenError("--threads must be 0 (automatic) or a positive number")
    frameworks = _frameworks(args.frameworks) if args.frameworks else profile.frameworks
    if not frameworks:
        raise ReportgenError("no framework to measure: --frameworks named none, or the profile's leaves_out holds "
                             f"every one ({', '.join(FRAMEWORKS)})")
    if args.dataset:
        if not set(frameworks) & set(TRAINERS):
            raise ReportgenError(f"--dataset {args.dataset}: only the training scenario uses a data set, and it runs "
                                 f"only with {' or '.join(TRAINERS)} among --frameworks")
        profile = dataclasses.replace(profile, training=dataclasses.replace(profile.training, dataset=args.dataset))
    if not args.no_build:  # say so now, not after the measurements
        from reportgen.report.site import check_site_dir

        ensure_writable(check_site_dir(args.site_dir, args.results_dir).parent, "site directory")
    opts = RunOptions(profile=profile, frameworks=frameworks, results_dir=args.results_dir,
                      device=args.device, threads=args.threads, seed=args.seed, resume=args.resume)
    run, path = measure(opts, console)
    console.print(f"Results: {path}")  # the console prints text as it is (no markup): see main()
    if not args.no_build and run["run_id"] in _build(args, console).left_out:
        print(f"reportgen: run {run['run_id']} is stored in {path}, but the pages could not show it (the reason is "
              "above): a bug in reportgen's pages; please report it with that file", file=sys.stderr)
        return 1
    if run["status"] == "failed":
        print(f"reportgen: run {run['run_id']} measured nothing: no inference or training measurement succeeded "
              "(the reasons are above); it is stored as failed and never shown as this machine's result",
              file=sys.stderr)
        return 1
    return 0


def _build(args: argparse.Namespace, console: Console) -> LoadedResults:
    """Build the site from every stored run and say which were left out and why."""
    from reportgen.report.site import build_site

    loaded = build_site(args.results_dir, args.site_dir, demo_dirs=getattr(args, "demo_dir", []))
    for problem in loaded.problems:
        console.print(Text.assemble(("skipped ", "yellow"), problem))
    console.print(f"Site: {args.site_dir.resolve() / 'index.html'} ({len(loaded.runs)} run(s)). "
                  f"Preview it with: reportgen serve --site-dir {shlex.quote(str(args.site_dir))}")
    return loaded


def cmd_build(args: argparse.Namespace, console: Console) -> int:
    """``reportgen build``: the site from every stored run (a run it cannot show is named, with the reason)."""
    _build(args, console)
    return 0


def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    """``reportgen serve``: preview a built site on a local HTTP server."""
    import functools
    import http.server

    if not (args.site_dir / "index.html").is_file():
        raise ReportgenError(f"no built site in {args.site_dir}: run `reportgen build` first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(args.site_dir))
    try:
        server = http.server.ThreadingHTTPServer((args.host, args.port), handler)
    except OSError as exc:
        raise ReportgenError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    console.print(f"Serving {args.site_dir} at http://{args.host}:{args.port}/ (Ctrl-C to stop)")
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_env(args: argparse.Namespace, console: Console) -> int:
    """``reportgen env``: print the detected hardware and software."""
    from rich.table import Table

    from reportgen.hardware import default_threads, detect, machine_id, resolve_device
    from reportgen.measure.energy import COUNTER_NAMES

    machine = detect()
    summary = {"machine_id": machine_id(machine), "device (auto)": resolve_device("auto", machine),
               "default threads": default_threads(machine)}
    if args.json:
        print(json.dumps({**summary, **machine}, indent=2))
        return 0
    table = Table(show_header=False, box=None)
    cpu = machine["cpu"]
    rows = {**summary, "CPU": cpu["model"], "architecture": cpu["architecture"],
            "cores (physical/logical/available)":
                f"{cpu['physical_cores']}/{cpu['logical_cores']}/{cpu['available_cores']}",
            "SIMD": ", ".join(cpu["simd"]), "memory": f"{machine['memory_gb']} GB", "OS": machine["os"],
            "Python": machine["python"], "compiler": machine["compiler"]}
    for i, gpu in enumerate(machine["gpus"]):
        rows[f"GPU {i}"] = f"{gpu['name']} ({gpu['memory_mb']} MB, driver {gpu['driver']})"
    if not machine["gpus"]:
        rows["GPU"] = "none found"
    if machine["cuda"]:
        rows["CUDA (torch)"] = f"{machine['cuda'].get('cuda')}, cuDNN {machine['cuda'].get('cudnn')}"
    for counter, found in machine["energy"].items():
        rows[f"energy, {COUNTER_NAMES[counter]}"] = found.get("counter") or f"not measured: {found['reason']}"
    rows.update({k: v or "not installed" for k, v in machine["libraries"].items()})
    rows.update(machine["thread_env"])
    for key, value in rows.items():
        table.add_row(Text(key, style="bold"), Text(str(value)))
    console.print(table)
    return 0


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    """``reportgen export``: the stored values as rows (CSV, JSON or Markdown), to stdout or a file."""
    from reportgen.report.site import SITE_MARKER
    from reportgen.store.export import export_rows, select_runs
    from reportgen.store.paths import check_output_file, write_atomic
    from reportgen.store.results import ResultStore

    loaded = ResultStore(args.results_dir).load_all()
    for problem in loaded.problems:
        print(f"reportgen: skipped {problem}", file=sys.stderr)
    target = check_output_file(args.output, args.results_dir, SITE_MARKER) if args.output else None
    text = export_rows(select_runs(loaded, args.run), args.format)
    if target is not None:
        try:
            write_atomic(target, text.encode("utf-8"))
        except OSError as exc:
            raise ReportgenError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    return 0


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    """``reportgen compare``: the batch-1 changes between two runs, each with its interval."""
    from reportgen.report.findings import ratio_text, run_changes
    from reportgen.store.results import ResultStore

    runs = [r for r in ResultStore(args.results_dir).load_all().runs if r["status"] == "complete"]
    by_id = {r["run_id"]: r for r in runs}
    for given in (args.base, args.new):
        if given is not None and given not in by_id:
            raise ReportgenError(f"no complete run {given!r} in {args.results_dir}")
    new = by_id[args.new] if args.new else (runs[-1] if runs else None)
    if new is None:
        raise ReportgenError(f"no complete run in {args.results_dir} to compare")
    earlier = [r for r in runs if r["machine_id"] == new["machine_id"] and r["started_at"] < new["started_at"]]
    base = by_id[args.base] if args.base else (earlier[-1] if earlier else None)
    if base is None:
        raise ReportgenError(f"no earlier complete run of {new['machine_id']} to compare {new['run_id']} with")
    changes = run_changes(base, new)
    console.print(f"{new['run_id']} ({new['machine_id']}) against {base['run_id']} ({base['machine_id']}): "
                  "speed-up > 1 is faster, 95% interval, per batch-1 variant")
    if base["machine_id"] != new["machine_id"]:
        console.print(f"Note: the runs are from two machines ({base['machine_id']}, {new['machine_id']}): "
                      "each speed-up includes the difference in hardware")
    if base["started_at"] > new["started_at"]:
        console.print(f"Note: BASE {base['run_id']} started after NEW {new['run_id']}: a speed-up > 1 means the "
                      "earlier run was faster")
    if not changes:
        console.print("No batch-1 variant was measured in both runs: nothing to compare")
    width = max((len(c["label"]) for c in changes), default=10)
    for c in changes:
        console.print(f"  {c['label']:<{width}}  {c['before_ms']:8.2f} -> {c['after_ms']:8.2f} ms  "
                      f"{ratio_text(c):<28} {c['verdict']}")
    slower = [c["label"] for c in changes if c["verdict"] == "slower"]
    if slower:
        console.print(f"Slower beyond doubt: {', '.join(slower)}")
    return 1 if slower and args.fail_on_regression else 0


class _Console(Console):
    """Rich's console, except that a closed output pipe ends the command with its own exit status, not 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops a run the way Ctrl-C does: results so far are kept


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names; its exit status (bad input: one line and 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    for stream in (sys.stdout, sys.stderr):  # a path the terminal's encoding cannot show is escaped, not fatal
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    # Messages carry text from outside (paths, exception messages, machine facts): never parse it as markup.
    console = _Console(stderr=args.command == "export", soft_wrap=True, markup=False, highlight=False)
    signal.signal(signal.SIGTERM, _terminate)
    commands = {"run": cmd_run, "build": cmd_build, "serve": cmd_serve, "env": cmd_env,
                "export": cmd_export, "merge": cmd_merge, "compare": cmd_compare}
    try:
        code = commands[args.command](args, console)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:  # e.g. `reportgen compare | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit must not fail
        return EXIT_OUTPUT_CLOSED
    except ReportgenError as exc:
        print(f"reportgen: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("reportgen: interrupted; finished measurements are kept in the results file "
              "(marked incomplete): continue with `reportgen run --resume`", file=sys.stderr)
        return 130
