"""What the README tells a user to run matches the code it is about."""

from __future__ import annotations

import re
from pathlib import Path

from stage.config import load_stage
from tests.support.synth import ROOT


def test_the_alarm_email_parameter_is_created_where_prod_reads_it() -> None:
    """CloudFormation resolves an SSM parameter type in the stack's own region: the README's put-parameter must
    name prod's region and the parameter prod reads."""
    text = " ".join((ROOT / "README.md").read_text().split())
    (command,) = re.findall(r"`(aws ssm put-parameter [^`]+)`", text)
    prod = load_stage("prod")
    assert f"--region {prod.region} " in command
    assert f"--name {prod.alarm_email_parameter} " in command


def _newest_report() -> dict[str, object]:
    import json

    reports = sorted((ROOT / "reports").glob("bench-*.json"))
    assert reports, "no committed bench report"
    return json.loads(reports[-1].read_text())  # type: ignore[no-any-return]


def test_the_benchmark_figures_are_the_newest_reports_not_typed() -> None:
    """make bench writes the block from its report; a figure typed by hand, or a report committed without the
    README it gives, fails here."""
    from bench import readme

    text = (ROOT / "README.md").read_text()
    assert readme.block_in(text) == readme.figures(_newest_report())
    outside = text.replace(readme.block_in(text), "")
    assert "req/s per task" not in outside and "page views/s in the last run" not in outside


def test_rewriting_the_figures_touches_only_their_block(tmp_path: Path) -> None:
    from bench import readme

    page = tmp_path / "README.md"
    page.write_text(f"# Title\n\nbefore\n\n{readme.START}\nold figures\n{readme.END}\n\nafter\n")
    readme.update(_newest_report(), page)
    text = page.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert readme.block_in(text) == readme.figures(_newest_report())


def test_a_report_with_the_snapstart_emulation_gives_its_row() -> None:
    from bench import readme

    report = {k: v for k, v in _newest_report().items() if k != "ratios_across_runs"}  # this run alone
    snap = {"ratio_restored_request_to_floor": 1.4, "handler_first_request_median_ms": 15.0}
    rows = readme.figures(
        {**report, "handler_snapstart": {"cpu": snap, "wall": {**snap, "ratio_restored_request_to_floor": 2.0}}}
    )
    (row,) = [line for line in rows.splitlines() if "SnapStart" in line]
    assert row.endswith("| <= 1.3x | not met: 1.40x in CPU time (15 ms), 2.00x wall |")


ARCHITECTURE_READMES = ["chat/README.md", "web/README.md", "edge/README.md", "deploy/README.md"]


def test_every_make_command_the_readmes_give_is_a_target_make_help_lists() -> None:
    """`make help` lists the targets with a `##` description: each one a README names is among them, and the
    README's two commands are `make synth` and `make test`."""
    listed = set(re.findall(r"^([a-z0-9-]+):.*## ", (ROOT / "Makefile").read_text(), re.MULTILINE))
    for page in ["README.md", *ARCHITECTURE_READMES]:
        named = set(re.findall(r"\bmake ([a-z0-9-]+)", (ROOT / page).read_text()))
        assert named, page
        assert named - listed == set(), page
    text = (ROOT / "README.md").read_text()
    commands = text.split("## Two commands", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split()[1] for line in commands.splitlines()] == ["synth", "test"]


def test_the_readme_leads_with_the_three_architectures() -> None:
    """Before anything else (the two commands included), a link to each architecture's README, and each README
    opens with one sentence, the request path in one line, then its picture."""
    lead = (ROOT / "README.md").read_text().split("## ", 1)[0]
    assert [page for page in ARCHITECTURE_READMES if f"]({page})" not in lead] == []
    for page in ARCHITECTURE_READMES:
        paragraphs = (ROOT / page).read_text().split("\n\n")
        assert paragraphs[0].startswith("# "), page
        assert re.fullmatch(r"`[^`\n]+ -> [^`\n]+`", paragraphs[2]), page
        assert paragraphs[3].startswith("<!-- request-path:start"), page


def test_the_origin_row_gives_the_spread_as_measured_beside_the_host_scaled_one() -> None:
    """A spread of runs scaled to one host's speed is not the spread of the figures the row lists: both are given."""
    from bench import readme

    report = _newest_report()
    runs = report["origin"]["across_runs"]
    scaled = {**runs, "on_newest_host_rps": [45.0, 48.0, 55.0], "spread": 0.21, "absolute_spread": 0.30}
    scaled["basis"] = "host reference"
    by_database = {**scaled, "basis": "database"}
    unscaled = {**runs, "on_newest_host_rps": None, "spread": 0.30, "absolute_spread": 0.30, "basis": None}
    rows = {}
    for name, across in (("scaled", scaled), ("by_database", by_database), ("unscaled", unscaled)):
        text = readme.figures({**report, "origin": {**report["origin"], "across_runs": across}})
        (rows[name],) = [line for line in text.splitlines() if line.startswith("| web origin per task")]
    assert "spread 21% with each run scaled to the newest run's host speed; 30% as measured)" in rows["scaled"]
    assert (
        "spread 21% with each run scaled to the newest run's host speed (by the database's CPU per request); "
        "30% as measured)"
    ) in rows["by_database"]
    assert "spread 30% as measured)" in rows["unscaled"]


# The docs' examples of an invalid setting: the stage, the field, what it says, and the value it was given.
_CONFIG_ERROR = re.compile(r"Invalid configuration for stage '(\w+)': ([\w.]+): (.+?), got ([^\s`]+)")


def test_the_docs_invalid_setting_examples_are_what_the_config_says() -> None:
    """Each quoted 'Invalid configuration ...' line is the message load_stage gives for that setting today."""
    from stage.config import ConfigError

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    quoted = [m for page in pages for m in _CONFIG_ERROR.finditer(page.read_text())]
    assert len(quoted) >= 2  # the README's and docs/edge-cache.md's
    for m in quoted:
        stage, key, value = m[1], m[2], m[4]
        try:
            load_stage(stage, {key: value})
        except ConfigError as error:
            assert str(error) == m[0], f"the docs say {m[0]!r}; the config says {str(error)!r}"
        else:
            raise AssertionError(f"{key}={value} is valid for {stage}, but the docs quote an error for it")


def _stage_rows() -> dict[str, dict[str, str]]:
    """The README's stage table: row label -> stage -> cell."""
    section = (ROOT / "README.md").read_text().split("## Stages", 1)[1].split("\n## ", 1)[0]
    lines = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    header = [cell.strip(" `") for cell in lines[0]]
    return {cells[0].strip(): dict(zip(header[1:], (c.strip() for c in cells[1:]), strict=True)) for cells in lines[1:]}


def test_the_readme_stage_table_gives_the_stages_settings() -> None:
    """The figures of the stage table are the configs' (a setting changed with the table left behind fails)."""
    rows = _stage_rows()

    def row(label: str) -> dict[str, str]:
        (found,) = [cells for name, cells in rows.items() if name.startswith(label)]
        assert set(found) == {"sandbox", "prod"}
        return found

    for name, cell in row("ECS tasks").items():
        web = load_stage(name).web
        assert cell == f"{web.min_tasks}-{web.max_tasks}", (name, cell)
    for name, cell in row("chat API throttle").items():
        chat = load_stage(name).chat
        limits = [chat.throttle_rate_limit, chat.throttle_burst_limit, chat.post_rate_limit, chat.post_burst_limit]
        assert cell.startswith("{:,}/{:,}, {:,}/{:,}".format(*limits)), (name, cell)
    for name, cell in row("chat room shards").items():
        assert re.match(r"\d+", cell)[0] == str(load_stage(name).chat.room_shards), (name, cell)  # type: ignore[index]
    for name, cell in row("log retention").items():
        config = load_stage(name)
        days = {config.chat.log_retention_days, config.web.log_retention_days, config.edge.log_retention_days}
        assert [cell] == [f"{day} days" for day in days], (name, cell)
    for name, cell in row("chat API 5xx alarm").items():
        assert cell.startswith(f"{load_stage(name).chat.alarm_5xx_threshold} per "), (name, cell)
