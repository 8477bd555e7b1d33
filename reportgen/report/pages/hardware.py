"""The Hardware & software page: every detected fact, versions, threads, and what ran or not."""

from __future__ import annotations

from typing import Any

from reportgen.hardware import LIBRARIES
from reportgen.measure import energy
from reportgen.process.envs import SHARED_LIBRARIES
from reportgen.report import findings
from reportgen.report.escape import MD, code
from reportgen.report.format import collapsed, conversion_model, fmt, label, md_table, name, provenance, records
from reportgen.store.records import Setting
from reportgen.store.results import LoadedResults

PAGE = "hardware.md"


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Hardware & software page."""
    m = run["machine"]
    cpu = m["cpu"]
    facts = [
        ["CPU", cpu["model"]], ["architecture", cpu["architecture"]],
        ["cores (physical / logical / available to the run)",
         f"{cpu['physical_cores']} / {cpu['logical_cores']} / {cpu['available_cores']}"],
        *([["logical CPUs per core", f"{cpu['threads_per_core']}" + (" (SMT)" if cpu["threads_per_core"] > 1 else "")],
           ["physical cores available to the run", str(cpu["available_physical_cores"])]]
          if "available_physical_cores" in cpu else []),  # runs stored before these were kept: none
        *([["core count", f"injected for tests ({cpu['injected']}), not detected"]] if cpu.get("injected") else []),
        *([["maximum clock", f"{cpu['max_mhz'] / 1e3:.2f} GHz ({cpu['max_mhz_source']})" if cpu["max_mhz"]
            else "not reported (the theoretical peak is unknown)"]] if "max_mhz" in cpu else []),
        ["SIMD", ", ".join(cpu["simd"]) or "–"], ["memory", f"{m['memory_gb']} GB"], ["OS", m["os"]],
        ["Python", m["python"]], ["compiler", m["compiler"] or "–"],
        ["device used", run["options"]["device"]],
        ["threads per measuring process", _threads(run) + (" (one per physical core available)"
                                                            if run["options"]["threads"]
                                                            == cpu.get("available_physical_cores") else "")],
    ]
    for i, gpu in enumerate(m["gpus"]):
        facts.append([f"GPU {i}", f"{gpu['name']}, {fmt(gpu['memory_mb'])} MB, driver {gpu['driver']}"])
    if m.get("cuda"):
        facts.append(["CUDA (torch)", f"CUDA {m['cuda'].get('cuda')}, cuDNN {m['cuda'].get('cudnn')}"])
    facts += _energy(run)
    libs = [[lib, m["libraries"].get(lib) or "not installed"] for lib in LIBRARIES if lib in m["libraries"]]
    # label() names the device and precision where they are not the run's usual ones; a reason reads after
    # its status, so the table keeps to the reading column
    matrix = collapsed([[r["scenario"], label(r), str(r["batch_size"] or "–"),
                         MD("{}: {}").format(r["status"], r["reason"]) if r["reason"] else r["status"]]
                        for r in run["records"]])
    runs = [[code(r["run_id"]), r["machine_id"], f"{r['profile']['name']}, {r['status']}",
             f"{sum(x['status'] == 'ok' for x in r['records'])} / {sum(x['status'] != 'ok' for x in r['records'])}"]
            for r in reversed(loaded.runs)]
    threads = {f"{name(r['framework'])} ({r['variant']})": r["settings"][Setting.THREADS]
               for r in records(run, "inference")}
    return {
        "run": provenance(run),
        "facts": md_table(["fact", "value"], facts),
        "libraries": md_table(["library", "version"], libs),
        "environments": _environments(m.get("environments")),
        "threads": md_table(["runtime", "thread settings"],
                            [[k, MD(", ").join(code(f"{n}={v}") for n, v in t.items())] for k, t in threads.items()]),
        "thread_env": m["thread_env"],
        "matrix": md_table(["scenario", "runtime / variant", "batch", "status", "records"], matrix),
        "for_inference": any(r["scenario"] == "conversion" and conversion_model(r) == "inference"
                             for r in run["records"]),
        "runs": md_table(["run", "machine", "profile, state", "records ok / not ok"], runs),
        "problems": loaded.problems,
    }


def _environments(stored: Any) -> dict[str, Any] | None:
    """The environments the run's children ran in (runs stored before they existed: None)."""
    if not isinstance(stored, dict) or not isinstance(stored.get("environments"), dict):
        return None
    rows = []
    for env_name, env in stored["environments"].items():
        if not isinstance(env, dict):
            continue
        versions = env.get("versions") if isinstance(env.get("versions"), dict) else {}
        own = ", ".join(f"{k} {v}" for k, v in versions.items() if k not in SHARED_LIBRARIES) or "–"
        lock = env.get("lock")
        digest = env.get("lock_sha256")
        rows.append([env_name, env.get("build") or "–",
                     MD("{} ({})").format(code(lock), code(str(digest)[:12])) if lock and digest else "–",
                     env.get("status", "?") + (f": {env['reason']}" if env.get("reason") else ""), own])
    return {"mode": str(stored.get("mode", "?")),
            "table": md_table(["environment", "build", "lock (sha256)", "status", "versions"], rows)}


def _energy(run: dict[str, Any]) -> list[list[str]]:
    """One row per device the run measured on: the energy counter its figures come from, or why it has none."""
    probe = run["machine"].get("energy") if isinstance(run["machine"].get("energy"), dict) else {}
    rows = []
    for device, why in findings.energy_status(run, findings.INFERENCE_WORK + findings.TRAINING_WORK).items():
        counter = energy.COUNTER[device]
        what = (probe.get(counter) or {}).get("counter") or "its counter"
        rows.append([f"energy, {energy.COUNTER_NAMES[counter]}",
                     f"not measured: {why.rstrip('. ')}" if why else f"measured: {what}; {energy.METHOD[counter]}"])
    return rows


def _threads(run: dict[str, Any]) -> str:
    """The run's thread count, and the shares of the tasks that ran beside another one (stamped on their
    records), where those differ from it."""
    threads = run["options"]["threads"]
    shares = [n for n in findings.thread_shares(run["records"]) if n != threads]
    return str(threads) + (f" ({' or '.join(map(str, shares))} in a task beside another one)" if shares else "")
