"""Print the results next to their references, save them as JSON, and draw the chart (plain SVG)."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path


def lines(results: dict) -> list[str]:
    """A plain-text summary: each figure beside the reference measured in the same run."""
    out = [f"benchmark run {results.get('started', '')} on {results.get('machine', '')}"]
    ceilings = results.get("client_ceilings") or {}
    if ceilings:
        out.append("load clients' own ceiling (null server): " + ", ".join(f"{k} {v:,.0f}/s" for k, v in ceilings.items()))
    servers = results.get("servers")
    if servers:
        out.append("0 the bare view under " + ", ".join(
            f"{name} {servers[name]['accepted_per_s']:,.0f}/s" for name in ("granian", "gunicorn", "daphne") if name in servers)
            + f" -> gunicorn/daphne {servers['ratio']:.1f}x"
            + (f", granian/gunicorn {servers['granian_vs_gunicorn']:.2f}x" if "granian_vs_gunicorn" in servers else ""))
    ingest = results.get("ingest")
    if ingest:
        ref, got = ingest["reference_per_s"], ingest["intake_per_s"]
        gunicorn = ingest.get("reference_gunicorn_per_s")
        out.append(f"1 ingest: intake {got:,.0f} events/s vs bare view {ref:,.0f}/s on the same server -> {ingest['ratio']:.2f}x"
                   + (f", vs bare view under gunicorn {gunicorn:,.0f}/s -> {ingest['ratio_gunicorn']:.2f}x" if gunicorn else "")
                   + f" (target >= 1.25x); lost {ingest['lost']}, applied twice {ingest['applied_twice']}, "
                   f"left pending {ingest['pending_left']}")
        out.append(f"    with the worker paused during the burst: {ingest['intake_worker_paused_per_s']:,.0f}/s -> "
                   f"{ingest['ratio_worker_paused']:.2f}x"
                   + (f" (vs gunicorn {ingest['ratio_worker_paused_gunicorn']:.2f}x)" if gunicorn else ""))
        for kind in ("reference", "reference_gunicorn", "intake", "intake_worker_paused"):
            for run in ingest["runs"].get(kind, []):
                out.append(f"    {kind:20} {run['accepted_per_s']:8,.0f}/s  p50 {run['p50_ms']:.1f}  p95 {run['p95_ms']:.1f}  "
                           f"p99 {run['p99_ms']:.1f} ms" + (f"  all processed {run['lag_s']} s after" if "lag_s" in run else ""))
        paced = ingest["paced"]
        out.append(f"    paced {paced['rate']:.0f}/s: p50 {paced['p50_ms']} p95 {paced['p95_ms']} p99 {paced['p99_ms']} ms "
                   f"(target p99 < 50 ms), statuses {paced['statuses']}, processed {paced.get('lag_s')} s after")
        scaled = ingest.get("paced_scaled")
        if scaled:
            out.append(f"    paced {scaled['rate']:.0f}/s (1,000/s scaled by this run's gunicorn reference / the issue's 1,800/s): "
                       f"p50 {scaled['p50_ms']} p95 {scaled['p95_ms']} p99 {scaled['p99_ms']} ms, statuses {scaled['statuses']}, "
                       f"processed {scaled.get('lag_s')} s after")
    applied = results.get("apply")
    if applied:
        naive = applied["naive"]
        out.append(f"A apply from a backlog of {applied['backlog']:,} realistic events (naive reference: a task per event, "
                   f"{naive['applied_per_s']:,.0f}/s, {naive['cpu_ms_per_event']} ms CPU + {naive['db_cpu_ms_per_event']} ms "
                   f"PostgreSQL CPU per event)")
        for run in applied["runs"]:
            out.append(f"    {run['workers']} worker(s): {run['applied_per_s']:,.0f} events/s ({run['applied']:,} in "
                       f"{run['wall_s']} s) -> {run['vs_one']}x one worker, {run['vs_naive']}x naive; "
                       f"{run['cpu_ms_per_event']} ms CPU + {run['db_cpu_ms_per_event']} ms PostgreSQL CPU per event")
    for row in results.get("live") or []:
        out.append(f"2 live {row['clients']:>2} client(s) @ {row['rate']:>3}/s: p50 {row['p50_ms']} p95 {row['p95_ms']} "
                   f"p99 {row['p99_ms']} ms, dropped {row['dropped']} of {row['events'] * row['clients']}, "
                   f"{row['frames']} frames"
                   + (f" (first socket p50 {row['first_socket_p50_ms']} p95 {row['first_socket_p95_ms']} ms)"
                      if row.get("first_socket_p95_ms") is not None and row["clients"] > 1 else ""))
    dom = results.get("live_dom")
    if dom:
        out.append(f"2 live to the DOM (Chromium): p50 {dom['p50_ms']} p95 {dom['p95_ms']} ms, dropped {dom['dropped']}")
    for row in results.get("fanout") or []:
        out.append(f"2 fan-out alone ({row.get('server', 'portal')}) {row['clients']} sockets @ {row['rate']:>4} messages/s: {row['delivered_per_s']:,} frames/s "
                   f"delivered, daphne {row['daphne_cpu_share']:.0%} CPU ({row['delivered_per_daphne_cpu_s'] or 0:,} per CPU "
                   f"second), p50 {row['p50_ms']} p95 {row['p95_ms']} ms, dropped {row['dropped']}, {row['frames']} websocket frames")
    for row in results.get("commands") or []:
        idle = row["idle_api_to_telnyx"]
        ref = row.get("reference") or {}
        ref_idle = ref.get("idle_call_to_telnyx") or {}
        out.append(f"3 commands, {row['workers']} worker(s): {row['completed_per_s']}/s vs bare task "
                   f"{ref.get('completed_per_s')}/s (bound {row['bound_per_s']}/s); idle API->Telnyx p50 {idle['p50_ms']} "
                   f"p95 {idle['p95_ms']} ms vs bare task p50 {ref_idle.get('p50_ms')} p95 {ref_idle.get('p95_ms')} ms "
                   f"(target p95 < 100 ms)")
        if row.get("queued_first_per_s") is not None:
            out.append(f"    queued while the workers were stopped, then applied: {row['queued_first_per_s']}/s vs bare task "
                       f"{ref.get('arrival_per_s')}/s (both from Telnyx's first request to its last answer)")
    pages = results.get("pages")
    if pages:
        out.append(f"4 pages at {pages['sizes']}: slowest p95 {pages['max_list_p95_ms']} ms (target < 150 ms); "
                   f"query count grew on: {pages['grew'] or 'none'}")
        if pages.get("not_measured"):
            out.append(f"    not a GET page (skipped): {', '.join(pages['not_measured'])}")
        for row in pages["pages"]:
            out.append(f"    {row['url'][:60]:60} {row['status']}  p50 {row['p50_ms']:7.1f}  p95 {row['p95_ms'] or 0:7.1f} ms  "
                       f"{row['queries']} queries (small data: {row['queries_small']})"
                       + (f", longest gc {row['gc_pause_max_ms']} ms" if row.get("gc_pause_max_ms") else ""))
    for row in results.get("sync") or []:
        out.append(f"5 sync {row['name']}: {row['seconds']} s, {row['queries']:,} queries, RSS peak +{row['rss_growth_mib']} MiB"
                   + (f", ERROR {row['error']}" if row["error"] else f", {row['result']}"))
    alerts = results.get("alerts")
    if alerts:
        out.append(f"7 alert evaluation: queries constant in rules x queues: {'yes' if alerts['constant'] else 'NO'}")
        for row in alerts["sizes"]:
            out.append(f"    {row['rules']:4} rules x {row['queues']:5} queues ({row['alerts_open']:6} alerts held): "
                       f"{row['queries']} queries, p50 {row['p50_ms']} ms, max {row['max_ms']} ms; firing "
                       f"{row['fired']}: {row['queries_firing']} queries, {row['ms_firing']} ms")
    memory = results.get("memory")
    if memory:
        out.append("6 peak RSS (MiB): " + ", ".join(f"{k} {v / 1024:.0f}" for k, v in memory.items() if k.endswith("kib")))
    if results.get("growth"):
        from bench.growth import growth_lines  # the growth part's own summary (issue 32)

        out += growth_lines(results["growth"])
    stolen = {k: v for k, v in (results.get("stolen") or {}).items() if v is not None}
    if stolen:
        out.append("CPU time taken by the hypervisor (steal) during each part: "
                   + ", ".join(f"{k} {100 * v:.0f} %" for k, v in stolen.items()))
    for note in results.get("notes") or []:
        out.append(f"note: {note}")
    return out


def save(results: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    (folder / "latest.txt").write_text("\n".join(lines(results)) + "\n")
    (folder / "chart.svg").write_text(chart(results))


def chart(results: dict) -> str:
    """Bar panels: ingest and commands against their same-run references, latencies (log scale) against targets."""
    ingest_rows: list[tuple[str, float, str]] = []
    ingest = results.get("ingest")
    if ingest:
        ingest_rows += [("bare view under gunicorn (issue's reference)", ingest.get("reference_gunicorn_per_s") or 0, "#9aa5b1"),
                        ("bare view under granian (same server)", ingest["reference_per_s"], "#9aa5b1"),
                        ("1.25x the higher reference (target)",
                         1.25 * max(ingest["reference_per_s"], ingest.get("reference_gunicorn_per_s") or 0), "#f0b429"),
                        ("intake, worker applying beside it", ingest["intake_per_s"], "#2f7ed8"),
                        ("intake, applying after the burst", ingest.get("intake_worker_paused_per_s") or 0, "#1f5fa8")]
    servers = results.get("servers")
    if servers:
        ingest_rows += [("bare view under daphne (ASGI)", servers["daphne"]["accepted_per_s"], "#9aa5b1")]
    command_rows: list[tuple[str, float, str]] = []
    for row in results.get("commands") or []:
        command_rows += [(f"bare task, {row['workers']} worker(s) (reference)",
                          (row.get("reference") or {}).get("completed_per_s") or 0, "#9aa5b1"),
                         (f"commands done, {row['workers']} worker(s)", row["completed_per_s"] or 0, "#2f7ed8"),
                         (f"Telnyx-latency bound, {row['workers']} worker(s)", row["bound_per_s"], "#f0b429")]
    latency: list[tuple[str, float, str]] = []
    for kind in ("intake", "intake_worker_paused"):
        runs = (ingest or {}).get("runs", {}).get(kind) or []
        if runs:
            best = max(runs, key=lambda r: r["accepted_per_s"])
            label = "worker beside" if kind == "intake" else "applying after"
            latency.append((f"intake p99 saturated ({label})", best["p99_ms"], "#2f7ed8"))
    if ingest:
        paced = ingest["paced"]
        latency.append((f"intake p99 @ {paced['rate']:.0f}/s, worker beside", paced["p99_ms"] or 0, "#2f7ed8"))
        scaled = ingest.get("paced_scaled")
        if scaled:
            latency.append((f"intake p99 @ {scaled['rate']:.0f}/s (1,000/s scaled to this machine)", scaled["p99_ms"] or 0, "#2f7ed8"))
    for row in results.get("live") or []:
        latency.append((f"live p95, {row['clients']} client(s) @ {row['rate']}/s", row["p95_ms"] or 0, "#2f7ed8"))
    dom = results.get("live_dom")
    if dom:
        latency.append(("live p95 to the DOM @ 2/s", dom["p95_ms"] or 0, "#2f7ed8"))
    for row in results.get("commands") or []:
        latency.append((f"command API->Telnyx p95, {row['workers']} worker(s)", row["idle_api_to_telnyx"]["p95_ms"] or 0, "#2f7ed8"))
        reference = (row.get("reference") or {}).get("idle_call_to_telnyx") or {}
        latency.append((f"bare task call->Telnyx p95, {row['workers']} worker(s)", reference.get("p95_ms") or 0, "#9aa5b1"))
    pages = results.get("pages")
    if pages:
        latency.append(("slowest page p95", pages["max_list_p95_ms"], "#2f7ed8"))
    width, row_height, label_width = 960, 22, 340
    parts, y = [], 10

    def panel(title: str, rows: list[tuple[str, float, str]], unit: str, marks: list[tuple[float, str]],
              log: bool = False) -> None:
        nonlocal y
        if not rows:
            return
        import math

        top = max([v for _, v, _ in rows] + [m for m, _ in marks]) or 1
        span = width - label_width - 110

        def x(value: float) -> float:
            if log:  # 1 ms at the left edge
                return span * math.log10(max(1.0, value)) / math.log10(max(10.0, top))
            return span * value / top

        parts.append(f'<text x="10" y="{y + 16}" font-size="15" font-weight="bold">{escape(title)}</text>')
        y += 34
        first = y
        for label, value, colour in rows:
            parts.append(f'<text x="{label_width - 8}" y="{y + 15}" font-size="12" text-anchor="end">{escape(label)}</text>')
            parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{max(1, x(value)):.1f}" height="{row_height - 6}" fill="{colour}"/>')
            parts.append(f'<text x="{label_width + x(value) + 5:.1f}" y="{y + 15}" font-size="12">{value:,.1f} {unit}</text>')
            y += row_height
        for n, (value, label) in enumerate(marks):
            mark = label_width + x(value)
            parts.append(f'<line x1="{mark:.1f}" y1="{first}" x2="{mark:.1f}" y2="{y}" stroke="#d64545" stroke-dasharray="4 3"/>')
            parts.append(f'<text x="{mark + 3:.1f}" y="{first - 4 - 10 * (n % 2)}" font-size="11" fill="#d64545">{escape(label)}</text>')
        y += 18

    panel("Webhook ingest, events/s (higher is better)", ingest_rows, "/s", [])
    panel("Commands, completed/s against a fake Telnyx answering in 50 ms", command_rows, "/s", [])
    panel("Latency, ms, log scale (lower is better; dashed: targets)", latency, "ms",
          [(50, "50 ms"), (100, "100 ms"), (150, "150 ms")], log=True)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 10}" font-family="sans-serif">'
            f'<rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>\n')
