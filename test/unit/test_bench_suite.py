"""`robot-control bench`: the aggregator's pure logic (JSON parsing, failure reporting, merging)
and the soak statistics (RSS growth, cerebellum window, clock drift)."""

from __future__ import annotations

import argparse
import json
import sys

import pytest

from robot_control.tools import bench


@pytest.mark.unit
def test_parse_json_output_whole_and_after_log_lines():
    assert bench.parse_json_output('{"a": 1}\n') == {"a": 1}
    text = 'starting ...\n[body] log {not json}\n{\n  "rate_hz": 999.5,\n  "nested": {"x": [1, 2]}\n}\n'
    assert bench.parse_json_output(text) == {"rate_hz": 999.5, "nested": {"x": [1, 2]}}
    assert bench.parse_json_output("") is None
    assert bench.parse_json_output("no json here\n") is None
    assert bench.parse_json_output("[1, 2]") is None            # an object, not any JSON value
    assert bench.parse_json_output('{"a": 1}\ntrailing text') is None  # must run to the end


@pytest.mark.unit
def test_part_record_success_and_failures():
    ok = bench.part_record("edge", ["python", "bench/edge.py"], None, 12.345, 0, False, '{"step": {}}', "")
    assert ok["ok"] and ok["error"] is None and ok["result"] == {"step": {}} and ok["wall_s"] == 12.35
    assert "stderr_tail" not in ok

    crashed = bench.part_record("brain", ["x"], 3, 1.0, 1, False, "", "Traceback ...\nRuntimeError: no server\n")
    assert not crashed["ok"] and crashed["error"] == "exit code 1: RuntimeError: no server"
    assert crashed["stderr_tail"].endswith("no server\n")

    # exit 0 but nothing parseable: still a failure, with what it printed
    silent = bench.part_record("edge", ["x"], None, 1.0, 0, False, "garbage", "")
    assert not silent["ok"] and silent["error"] == "no JSON object on stdout" and silent["stdout_tail"] == "garbage"

    timed_out = bench.part_record("e2e", ["x"], 4, 99.0, -2, True, "", "")
    assert timed_out["error"] == "timed out"

    killed = bench.part_record("e2e", ["x"], 4, 9.0, -9, False, "", "")
    assert killed["error"] == "exit code -9 (SIGKILL)"

    # a part that explains itself in its JSON (e2e: the task failed) keeps its measurements
    failed_task = bench.part_record("e2e", ["x"], 4, 50.0, 1, False,
                                    json.dumps({"task": {"outcome": "FAILED"}, "error": "task FAILED: no reach"}), "")
    assert failed_task["error"] == "exit code 1: task FAILED: no reach"
    assert failed_task["result"]["task"]["outcome"] == "FAILED"


@pytest.mark.unit
def test_aggregate_reports_failed_parts_and_headline():
    parts = {
        "cerebellum": bench.part_record("cerebellum", ["c"], 205, 40.0, 0, False, json.dumps(
            {"cerebellum": {"rate_hz": 998.2, "missed_pct": 0.01, "jitter_us": {"p99": 80.0}}}), ""),
        "brain": bench.part_record("brain", ["b"], None, 3.0, 1, False, "", "boom\n"),
        "skills_live": bench.skipped_record("bench/skills_live.py does not exist (yet)"),
    }
    out = bench.aggregate(parts, {"nproc": 2}, {"quick": True}, "2025-01-01T00:00:00", 43.21)
    assert out["schema"] == bench.SCHEMA
    assert out["ok"] is False
    assert out["failed"] == ["brain"]
    assert out["errors"] == {"brain": "exit code 1: boom"}
    assert out["headline"] == {"cerebellum_rate_hz": 998.2, "cerebellum_missed_pct": 0.01,
                               "cerebellum_jitter_p99_us": 80.0}
    assert out["parts"]["skills_live"]["skipped"]
    json.dumps(out)  # the file is JSON

    all_ok = bench.aggregate({k: v for k, v in parts.items() if k != "brain"}, {}, {}, "t", 1.0)
    assert all_ok["ok"] is True and all_ok["failed"] == []


def _args(**kw):
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args([])
    for k, v in kw.items():
        setattr(args, k, v)
    return args


@pytest.mark.unit
def test_plan_parts_selection_quick_and_soak():
    parts, skipped = bench.plan_parts(_args(quick=True))
    assert [p.name for p in parts] == list(bench.SUITE)
    cere = parts[0]
    assert cere.argv[1] == "bench/cerebellum.py" and cere.argv[cere.argv.index("--duration") + 1] == "5"
    assert cere.domain_flag and not parts[1].domain_flag  # edge: no ROS
    assert "--realtime-priority" not in cere.argv
    parts, _ = bench.plan_parts(_args(only="cerebellum", realtime_priority=80))
    argv = parts[0].argv
    assert argv[argv.index("--realtime-priority") + 1] == "80"

    parts, _ = bench.plan_parts(_args(only="brain, edge", duration=12.0))
    assert [p.name for p in parts] == ["brain", "edge"]
    with pytest.raises(ValueError, match="unknown part"):
        bench.plan_parts(_args(only="cerebellum,nope"))

    parts, _ = bench.plan_parts(_args(soak=30.0))
    assert [p.name for p in parts] == ["soak"] and parts[0].timeout_s > 30.0
    assert parts[0].argv[:4] == (sys.executable, "-m", "robot_control.tools.bench", "--part")


@pytest.mark.unit
def test_plan_parts_skills_live_missing_is_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "REPO", tmp_path)  # no bench/skills_live.py there
    parts, skipped = bench.plan_parts(_args(only="edge", with_skills_live=True))
    assert [p.name for p in parts] == ["edge"]
    assert "skills_live" in skipped


@pytest.mark.integration  # runs the script's --help
def test_plan_parts_skills_live_gets_only_the_options_it_declares(monkeypatch, tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "skills_live.py").write_text(
        "import argparse\np = argparse.ArgumentParser()\np.add_argument('--episodes')\n"
        "p.add_argument('--domain-id')\np.add_argument('--out')\np.parse_args()\n")
    monkeypatch.setattr(bench, "REPO", tmp_path)
    parts, skipped = bench.plan_parts(_args(only="skills_live", quick=True, skill_folder="/x"))
    assert not skipped and len(parts) == 1
    live = parts[0]
    assert live.argv[1:] == ("bench/skills_live.py", "--episodes", "2")  # no --no-prepared / --skills: not declared
    assert live.domain_flag and live.out_flag


@pytest.mark.unit
def test_linear_slope_and_rss_growth():
    assert bench.linear_slope([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx(2.0)
    assert bench.linear_slope([1, 1], [0, 5]) is None
    assert bench.linear_slope([1], [1]) is None
    # 100 MB growing 0.5 MB per minute, sampled every 5 s for 10 minutes, after a start-up jump
    samples = [(t, 100.0 + 0.5 * t / 60.0 + (20.0 if t >= 5 else 0.0)) for t in range(0, 600, 5)]
    g = bench.rss_growth(samples)
    assert g["samples"] == 120
    assert g["growth_mb_per_min"] == pytest.approx(0.5, abs=1e-3)  # start-up left out of the fit
    assert g["growth_mb"] == pytest.approx(20.0 + 0.5 * 595 / 60.0, abs=0.01)
    assert bench.rss_growth([]) == {"samples": 0}


@pytest.mark.unit
def test_cerebellum_window_missed_and_drift():
    samples = [(float(t), {"commands_published": str(990 * t), "missed_periods": str(10 * t),
                           "jitter_p99_us": str(50 + t), "mode": "hold"}) for t in range(0, 61)]
    w = bench.cerebellum_window(samples, 1000.0)
    assert w["missed_periods"] == 600 and w["commands_published"] == 59400
    assert w["missed_pct"] == pytest.approx(1.0)
    assert w["missed_per_min"] == pytest.approx(600.0)
    assert w["deadline_rate_hz"] == pytest.approx(1000.0)
    assert w["deadline_rate_drift_ppm"] == 0
    assert w["jitter_p99_us_max"] == 110.0 and w["mode_at_end"] == "hold"
    slow = [(float(t), {"commands_published": str(999 * t), "missed_periods": "0"}) for t in range(0, 11)]
    assert bench.cerebellum_window(slow, 1000.0)["deadline_rate_drift_ppm"] == -1000
    assert bench.cerebellum_window(samples[:1], 1000.0) == {"samples": 1}


@pytest.mark.unit
def test_clock_drift():
    # the simulation runs at 0.9x: it falls 6 s behind per minute
    samples = [(float(t), 0.9 * t) for t in range(0, 121, 5)]
    d = bench.clock_drift(samples)
    assert d["real_time_factor"] == pytest.approx(0.9)
    assert d["lag_end_s"] == pytest.approx(12.0)
    assert d["lag_growth_s_per_min"] == pytest.approx(6.0)
    assert bench.clock_drift([(0.0, 0.0)]) == {"samples": 1}


@pytest.mark.unit
def test_bench_is_a_cli_subcommand():
    from robot_control.cli import build_parser

    args = build_parser().parse_args(["bench", "--quick", "--only", "edge"])
    assert args.func.__name__ == "cmd_bench" and args.quick and args.only == "edge"


@pytest.mark.integration
def test_run_suite_runs_parts_as_processes_and_reports_failures(monkeypatch, tmp_path, capsys):
    """The aggregator end to end on stand-in parts: one prints JSON, one crashes, one hangs past
    its limit (stopped, reported as timed out), one times out after writing partial results to
    its --out (kept); the file has all of them, the exit code is 1."""
    good = tmp_path / "good.py"
    good.write_text("import json, os\nprint('a log line')\n"
                    "print(json.dumps({'domain': os.environ['ROS_DOMAIN_ID'], 'n': 3}))\n")
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nprint('partial', flush=True)\nsys.exit('bad part: no gcc')\n")
    hang = tmp_path / "hang.py"
    hang.write_text("import time\nwhile True:\n    time.sleep(0.05)\n")
    partial = tmp_path / "partial.py"  # writes its --out as it goes, then runs past its limit
    partial.write_text("import json, sys, time\nopen(sys.argv[sys.argv.index('--out') + 1], 'w')"
                       ".write(json.dumps({'seeds_done': 1}))\ntime.sleep(60)\n")
    parts = [bench.Part("good", (sys.executable, str(good)), 30.0, False),
             bench.Part("bad", (sys.executable, str(bad)), 30.0, False),
             bench.Part("hang", (sys.executable, str(hang)), 1.0, False),
             bench.Part("partial", (sys.executable, str(partial)), 2.0, False, True)]
    monkeypatch.setattr(bench, "plan_parts", lambda args: (parts, {"skills_live": "not there"}))
    monkeypatch.setenv("RC_BENCH_ECHO", "0")
    monkeypatch.setattr(bench, "_shm_clean", lambda: None)
    out = tmp_path / "bench.json"
    code = bench.run(_args(out=str(out), domain_base=211))
    assert code == 1
    result = json.loads(out.read_text())
    assert result["failed"] == ["bad", "hang", "partial"]
    assert result["parts"]["good"]["ok"] and result["parts"]["good"]["result"] == {"domain": "211", "n": 3}
    assert result["parts"]["bad"]["error"] == "exit code 1: bad part: no gcc"
    assert result["parts"]["hang"]["error"] == "timed out" and result["parts"]["hang"]["wall_s"] < 30
    assert result["parts"]["partial"]["error"] == "timed out"
    assert result["parts"]["partial"]["result"] == {"seeds_done": 1} and "partial" in result["parts"]["partial"]["result_from"]
    assert result["parts"]["skills_live"]["skipped"] == "not there"
    assert result["machine"]["nproc"] and "load_avg_after" in result["machine"]
    assert (tmp_path / "bench.logs" / "bad.log").is_file()
    shown = json.loads(capsys.readouterr().out)
    assert shown["file"] == str(out) and shown["failed"] == ["bad", "hang", "partial"]


@pytest.mark.unit
@pytest.mark.parametrize("robot", ["g1", "panda"])
def test_default_instruction_is_the_demos_and_feeds_the_e2e_command(robot: str) -> None:
    from robot_control.demo import DEFAULT_INSTRUCTIONS

    assert bench.default_instruction(robot) == DEFAULT_INSTRUCTIONS[robot]
    parts, _ = bench.plan_parts(_args(only="e2e", robot=robot))
    argv = parts[0].argv
    assert all(isinstance(a, str) for a in argv), argv
    assert argv[argv.index("--instruction") + 1] == DEFAULT_INSTRUCTIONS[robot]
