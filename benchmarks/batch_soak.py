"""Soak test of batch grading: a large mixed batch (hostile submissions included), killed with SIGKILL mid-run,
resumed, checked for loss and duplicates; optionally graded again on a Ray cluster and compared.

Usage: python benchmarks/batch_soak.py [--n 200] [--workers 2] [--kill-at 0.4] [--runner local]
                                      [--ray-address HOST:PORT] [--compare-runner NAME]

The batch cycles through every MHSA corpus submission and every hostile-corpus attack (placeholders filled with a
scratch directory, a closed port and a secret file of this run). The whole process group of `harness batch` is
SIGKILLed once the journal holds `kill-at` of the batch; `--resume` then finishes it. The script checks that every
student has exactly one journal line, one scorecard and one grades.csv row, and that no temporary file is left. With
`--ray-address`, the same batch is graded with `--executor ray`, and with `--compare-runner`, with another runner
(e.g. `--runner docker-pool --compare-runner local`); every status and score is compared. With a docker runner, the
engine at HARNESS_DOCKER_HOST must hold no container of the harness once the batch is done (the kill included).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "submissions" / "mhsa"
HOSTILE = ROOT / "tests" / "hostile"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_batch(directory: Path, count: int) -> tuple[Path, Counter[str]]:
    """N submissions cycling through the corpus and the hostile attacks; returns the folder and the mix."""
    markers = directory / "markers"
    markers.mkdir()
    secret = directory / "secret.txt"
    secret.write_text("SOAK-SECRET\n")
    values = {"MARKER_DIR": str(markers), "SECRET_FILE": str(secret), "PORT": str(_closed_port()),
              "REFERENCE_FILE": str(ROOT / "reference_solutions" / "mhsa" / "functional.py")}
    sources = sorted(CORPUS.glob("*.py")) + sorted(p for p in HOSTILE.glob("*.py")
                                                   if p.stem not in ("__init__", "test_hostile"))
    batch = directory / "input"
    batch.mkdir()
    kinds: Counter[str] = Counter()
    for index in range(count):
        path = sources[index % len(sources)]
        text = path.read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        (batch / f"s{index:04d}_{path.stem}.py").write_text(text)
        kinds["hostile" if path.parent == HOSTILE else "corpus"] += 1
    return batch, kinds


def journal_lines(out: Path) -> list[str]:
    path = out / "journal.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def batch_command(source: Path, out: Path, workers: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "harness", "batch", str(source), "--problem", "mhsa", "--out", str(out),
            "--workers", str(workers), *extra]


def run_with_kill(source: Path, out: Path, workers: int, kill_after: int, *extra: str) -> tuple[float, int]:
    """Start the batch, SIGKILL its process group once ``kill_after`` results are journaled; seconds, lines then."""
    started = time.monotonic()
    process = subprocess.Popen(batch_command(source, out, workers, *extra), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    while process.poll() is None and len(journal_lines(out)) < kill_after:
        time.sleep(0.2)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return time.monotonic() - started, len(journal_lines(out))


def check(out: Path, students: set[str]) -> list[str]:
    problems = []
    lines = [json.loads(line) for line in journal_lines(out) if line.strip()]
    counts = Counter(entry["student"] for entry in lines)
    duplicates = sorted(student for student, count in counts.items() if count > 1)
    missing = sorted(students - set(counts))
    if duplicates:
        problems.append(f"{len(duplicates)} students journaled twice: {duplicates[:5]}")
    if missing:
        problems.append(f"{len(missing)} students missing from the journal: {missing[:5]}")
    cards = {p.stem for p in (out / "scorecards").glob("*.json")}
    if cards != students:
        problems.append(f"scorecards: {len(cards)} files for {len(students)} students")
    with open(out / "grades.csv", newline="") as handle:
        rows = [row["student"] for row in csv.DictReader(handle)]
    if sorted(rows) != sorted(students):
        problems.append(f"grades.csv: {len(rows)} rows for {len(students)} students")
    leftovers = [p.name for p in out.rglob("*") if p.name.endswith((".tmp", ".partial")) or p.name.startswith(".")]
    if leftovers:
        problems.append(f"temporary files left: {leftovers[:5]}")
    return problems


def harness_containers(wait_s: float = 30.0) -> list[str]:
    """Containers of the harness still on the engine at HARNESS_DOCKER_HOST after up to ``wait_s`` seconds."""
    import docker

    client = docker.DockerClient(base_url=os.environ["HARNESS_DOCKER_HOST"])
    deadline = time.monotonic() + wait_s
    while True:
        names = [c.name for c in client.containers.list(all=True, filters={"label": "mlgrade-harness"})]
        if not names or time.monotonic() > deadline:
            return names
        time.sleep(0.5)


def compare(label: str, source: Path, reference: Path, other: Path, workers: int, students: set[str],
            *extra: str) -> list[str]:
    """Grade the batch again into ``other`` with ``extra`` options; the problems found, differences included."""
    started = time.monotonic()
    done = subprocess.run(batch_command(source, other, workers, *extra), capture_output=True, text=True)
    print(f"{label}: exit {done.returncode} in {time.monotonic() - started:.1f} s")
    failures = [f"{label}: {problem}" for problem in check(other, students)]
    first, second = outcomes(reference), outcomes(other)
    differing = sorted(s for s in students if first.get(s) != second.get(s))
    print(f"{label} vs the killed batch: {len(students) - len(differing)} identical, {len(differing)} different")
    for student in differing:
        print(f"  {student}: killed batch {first.get(student)}, {label} {second.get(student)}")
    if differing:
        failures.append(f"{len(differing)} submissions scored differently with {label}")
    return failures


def outcomes(out: Path) -> dict[str, tuple[str, float]]:
    result = {}
    for path in (out / "scorecards").glob("*.json"):
        card = json.loads(path.read_text())
        result[path.stem] = (card["status"], card["score"])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-at", type=float, default=0.4, help="fraction of the batch journaled before the kill")
    parser.add_argument("--runner", default="local", help="the runner of the killed and resumed batch")
    parser.add_argument("--ray-address", default=None, help="also grade the batch on this Ray cluster and compare")
    parser.add_argument("--compare-runner", default=None, help="also grade the batch with this runner and compare")
    args = parser.parse_args()
    runner = ("--runner", args.runner)
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="harness-soak-") as work:
        directory = Path(work)
        source, kinds = make_batch(directory, args.n)
        students = {p.stem for p in source.glob("*.py")}
        out = directory / "out"
        killed_s, at_kill = run_with_kill(source, out, args.workers, int(args.n * args.kill_at), *runner)
        print(f"batch of {args.n} ({kinds['corpus']} corpus, {kinds['hostile']} hostile), {args.workers} workers, "
              f"runner {args.runner}")
        print(f"SIGKILL of the batch's process group after {killed_s:.1f} s with {at_kill} results journaled")
        started = time.monotonic()
        resumed = subprocess.run(batch_command(source, out, args.workers, "--resume", *runner), capture_output=True,
                                 text=True)
        resume_s = time.monotonic() - started
        print(f"--resume: exit {resumed.returncode} in {resume_s:.1f} s: {resumed.stderr.strip().splitlines()[-1:]}")
        failures += check(out, students)
        total_s = killed_s + resume_s
        print(f"graded {len(outcomes(out))} submissions in {total_s:.1f} s of batch time "
              f"({len(students) / total_s:.2f} submissions/s, kill and restart included)")
        statuses = Counter(status for status, _ in outcomes(out).values())
        print("statuses:", dict(sorted(statuses.items())))
        if args.runner.startswith("docker"):
            left = harness_containers()
            print(f"containers of the harness left on the engine: {len(left)}")
            if left:
                failures.append(f"containers left behind: {left[:5]}")
        if args.ray_address:
            failures += compare("ray", source, out, directory / "out-ray", args.workers, students, *runner,
                                "--executor", "ray", "--address", args.ray_address)
        if args.compare_runner:
            failures += compare(args.compare_runner, source, out, directory / "out-compare", args.workers, students,
                                "--runner", args.compare_runner)
        if failures:
            shutil.copytree(out, ROOT / "soak-failure", dirs_exist_ok=True)
    print("OK: no loss, no duplicate" if not failures else "FAILED:\n  " + "\n  ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
