"""The Gradescope and PrairieLearn packages, run end to end in real containers laid out as those systems lay them.

Gradescope: the exported zip is unpacked into /autograder/source of a plain Debian container, ``setup.sh`` installs
the harness from the bundled wheels (no network, as in the private engine), the container is committed as the
autograder's image, and every submission gets a fresh container of it with /autograder/submission filled in and
``/autograder/run_autograder`` run as Gradescope runs it; results.json is validated against the schema written from
Gradescope's documentation. PrairieLearn: the exported image context is built, and each job is a container of it
with /grade/{data,student,results} mounted, no network and PrairieLearn's default memory and process limits.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import jsonschema
import pytest

from harness.packs.registry import PackRegistry
from harness.schemas import load_schema
from tests.docker_engine import BASE_IMAGE, lms_wheelhouse
from tests.support import CORPUS

pytestmark = [pytest.mark.docker, pytest.mark.slow]

UPLOADS = Path(__file__).parent / "uploads"
GRADESCOPE_IMAGE = "harness-test-gradescope:latest"
PRAIRIELEARN_IMAGE = "harness-test-prairielearn:latest"
METADATA = {"id": 1, "created_at": "2026-12-03T10:00:00Z", "assignment": {"title": "Attention", "total_points": 100},
            "users": [{"email": "student@example.edu", "id": 7, "name": "A Student"}], "previous_submissions": []}


def _client(engine):  # type: ignore[no-untyped-def]
    import docker

    return docker.DockerClient(base_url=engine.base_url, timeout=900)


def _tar(files: dict[str, bytes], mode: int = 0o644) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _read(container, path: str) -> bytes:  # type: ignore[no-untyped-def]
    chunks, _ = container.get_archive(path)
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
        member = archive.getmembers()[0]
        extracted = archive.extractfile(member)
        assert extracted is not None
        return extracted.read()


def _exec(container, command: str, workdir: str = "/") -> str:  # type: ignore[no-untyped-def]
    code, output = container.exec_run(["bash", "-c", command], workdir=workdir)
    text = output.decode(errors="replace")
    assert code == 0, f"{command!r} exited {code}:\n{text[-3000:]}"
    return text


@pytest.fixture(scope="module")
def wheelhouse(docker_engine) -> Path:
    return lms_wheelhouse()


@pytest.fixture(scope="module")
def gradescope_image(docker_engine, wheelhouse, tmp_path_factory):
    """The autograder image as Gradescope builds it: setup.sh run once in /autograder/source, then committed."""
    from harness.lms.gradescope_export import export_gradescope

    bundle = export_gradescope("mhsa", tmp_path_factory.mktemp("gradescope") / "autograder.zip",
                               wheelhouse=wheelhouse, leaderboard=True)
    with zipfile.ZipFile(bundle) as archive:
        files = {f"source/{info.filename}": archive.read(info) for info in archive.infolist() if not info.is_dir()}
    client = _client(docker_engine)
    container = client.containers.run(BASE_IMAGE, ["sleep", "3600"], detach=True, network_mode="none")
    try:
        _exec(container, "mkdir -p /autograder/source /autograder/submission /autograder/results")
        container.put_archive("/autograder", _tar(files, mode=0o755))
        log = _exec(container, "bash setup.sh && cp run_autograder /autograder/run_autograder", "/autograder/source")
        assert "harness, version" in log
        container.commit(*GRADESCOPE_IMAGE.split(":"))
    finally:
        container.remove(force=True)
    yield client
    client.images.remove(GRADESCOPE_IMAGE, force=True)


def _gradescope_run(client, uploads: dict[str, bytes]) -> tuple[int, str, dict | None]:  # type: ignore[no-untyped-def]
    """One submission as Gradescope grades it: its own container, 768 MB as Gradescope's default."""
    container = client.containers.run(GRADESCOPE_IMAGE, ["sleep", "3600"], detach=True, network_mode="none",
                                      mem_limit="768m", working_dir="/autograder")
    try:
        container.put_archive("/autograder", _tar({**{f"submission/{k}": v for k, v in uploads.items()},
                                                   "submission_metadata.json": json.dumps(METADATA).encode()}))
        code, output = container.exec_run(["/autograder/run_autograder"], workdir="/autograder")
        try:
            results = json.loads(_read(container, "/autograder/results/results.json"))
        except Exception:  # noqa: BLE001 - no results written
            results = None
        return code, output.decode(errors="replace"), results
    finally:
        container.remove(force=True)


def _by_tag(results: dict) -> dict[str, dict]:
    return {test["tags"][0]: test for test in results["tests"]}


def test_gradescope_grades_a_correct_file_of_any_name_beside_a_helper(gradescope_image):
    code, output, results = _gradescope_run(gradescope_image, {
        "helpers.py": (UPLOADS / "helpers.py").read_bytes(),
        "my_attention.py": (CORPUS / "correct_fused_qkv_linear.py").read_bytes()})
    assert code == 0, output
    assert results is not None
    jsonschema.validate(results, load_schema("gradescope_results"))
    tests = _by_tag(results)
    assert tests["matches_reference"]["status"] == "passed"
    assert tests["memory"]["score"] == 0 and "not checked" in tests["memory"]["output"]  # no cgroup in the container
    assert results["score"] == sum(test["score"] for test in results["tests"]) >= 90
    assert "graded my\\_attention.py" in results["output"]  # markdown-escaped
    assert results["leaderboard"][0]["order"] == "asc" and results["leaderboard"][0]["value"] > 0


def test_gradescope_names_a_mistake_and_keeps_hidden_items_hidden(gradescope_image):
    code, output, results = _gradescope_run(gradescope_image, {
        "attention.py": (CORPUS / "mistake_no_scale.py").read_bytes()})
    assert code == 0, output
    assert results is not None
    jsonschema.validate(results, load_schema("gradescope_results"))
    tests = _by_tag(results)
    assert tests["scaling"]["status"] == "failed" and tests["scaling"]["score"] == 0
    assert "sqrt" in tests["scaling"]["output"]
    rubric = PackRegistry().load("mhsa").rubric
    assert {tag: test["visibility"] for tag, test in tests.items()} == {i.id: i.visibility for i in rubric.items}


def test_gradescope_syntax_error_is_a_result_not_a_crash(gradescope_image):
    code, output, results = _gradescope_run(gradescope_image, {
        "attention.py": (CORPUS / "broken_syntax_error.py").read_bytes()})
    assert code == 0, output
    assert results is not None and results["score"] == 0
    assert "syntax" in results["output"].lower()


def test_gradescope_tampering_cannot_touch_results_or_read_the_grader(gradescope_image):
    code, output, results = _gradescope_run(gradescope_image, {
        "attention.py": (UPLOADS / "tampering_attention.py").read_bytes()})
    assert code == 0, output
    assert results is not None and results["score"] != 1000
    jsonschema.validate(results, load_schema("gradescope_results"))
    tests = _by_tag(results)
    # Every attempt failed (or the import raised and these would fail): the forged document changed nothing.
    assert tests["interface"]["status"] == "passed", tests["interface"]["output"]
    assert tests["matches_reference"]["status"] == "passed"


def test_gradescope_empty_upload_is_graded_zero_with_the_reason(gradescope_image):
    code, output, results = _gradescope_run(gradescope_image, {"notes.txt": b"I ran out of time"})
    assert code == 0, output
    assert results is not None and results["score"] == 0
    assert "No submission file" in results["output"]


@pytest.fixture(scope="module")
def prairielearn_image(docker_engine, wheelhouse, tmp_path_factory):
    from harness.lms.prairielearn_export import export_prairielearn

    out = export_prairielearn("mhsa", tmp_path_factory.mktemp("prairielearn") / "export", image=PRAIRIELEARN_IMAGE,
                              wheelhouse=wheelhouse)
    info = json.loads((out / "question" / "info.json").read_text())
    assert info["gradingMethod"] == "External"
    assert info["externalGradingOptions"]["image"] == PRAIRIELEARN_IMAGE
    client = _client(docker_engine)
    client.images.build(path=str(out / "image"), tag=PRAIRIELEARN_IMAGE, buildargs={"BASE_IMAGE": BASE_IMAGE},
                        network_mode="none", rm=True)
    yield client, info["externalGradingOptions"]["entrypoint"]
    client.images.remove(PRAIRIELEARN_IMAGE, force=True)


def _prairielearn_run(prairielearn_image, tmp_path: Path, uploads: dict[str, bytes],
                      data: dict | None = None) -> dict:
    client, entrypoint = prairielearn_image
    grade = tmp_path / "grade"
    for folder in ("data", "student", "results", "tests", "serverFilesCourse"):
        (grade / folder).mkdir(parents=True)
    (grade / "data" / "data.json").write_text(json.dumps(data or {"params": {}, "submitted_answers": {},
                                                                 "gradable": True}))
    for name, content in uploads.items():
        (grade / "student" / name).write_bytes(content)
    client.containers.run(PRAIRIELEARN_IMAGE, [entrypoint], remove=True, network_disabled=True,
                          mem_limit="2g", memswap_limit="2g", pids_limit=1024,
                          volumes={str(grade): {"bind": "/grade", "mode": "rw"}})
    results_file = grade / "results" / "results.json"
    assert results_file.stat().st_size < 1_000_000
    results = json.loads(results_file.read_text())
    shutil.rmtree(grade)
    return results


def test_prairielearn_grades_a_correct_upload(prairielearn_image, tmp_path):
    results = _prairielearn_run(prairielearn_image, tmp_path, {
        "solution.py": (CORPUS / "correct_fused_qkv_linear.py").read_bytes()})
    assert results["gradable"] is True
    assert 0.9 <= results["score"] <= 1.0
    names = {test["description"]: test for test in results["tests"]}
    assert names["matches_reference"]["points"] == names["matches_reference"]["max_points"] > 0
    assert all({"name", "points", "max_points", "message"} <= set(test) for test in results["tests"])


def test_prairielearn_tampering_is_graded_on_its_merits(prairielearn_image, tmp_path):
    results = _prairielearn_run(prairielearn_image, tmp_path, {
        "solution.py": (UPLOADS / "tampering_attention.py").read_bytes()})
    assert results["gradable"] is True and results["score"] <= 1.0
    names = {test["description"]: test for test in results["tests"]}
    assert names["interface"]["points"] == names["interface"]["max_points"], names["interface"]["message"]


def test_prairielearn_unparseable_or_missing_submission_costs_no_attempt(prairielearn_image, tmp_path):
    broken = _prairielearn_run(prairielearn_image, tmp_path / "a", {
        "solution.py": (CORPUS / "broken_syntax_error.py").read_bytes()})
    assert broken["gradable"] is False and broken["format_errors"]
    missing = _prairielearn_run(prairielearn_image, tmp_path / "b", {})
    assert missing["gradable"] is False and "No submission file" in missing["message"]


def test_prairielearn_mistake_scores_below_one(prairielearn_image, tmp_path):
    results = _prairielearn_run(prairielearn_image, tmp_path, {
        "solution.py": (CORPUS / "mistake_no_scale.py").read_bytes()})
    assert results["gradable"] is True and results["score"] < 0.9
    names = {test["description"]: test for test in results["tests"]}
    assert names["scaling"]["points"] == 0
