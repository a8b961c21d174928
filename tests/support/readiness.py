"""The test apps of the rule tests: each module's bad and good constructs, synthesized with the deploy-readiness
pack once per set of inputs for all modules together (recipe "test_apps" of tests/support/assemblies.py: one
builder process, cached like the app, built in the background while other tests run), findings read from
each app's validation report.

Adding a rule's constructs takes a few lines in the rule's test module, nothing to register:

    def _build(app: object) -> dict[str, str] | None:
        stack = stage_stack(app, "prod", "Mine")    # stages and stacks of the module's own
        ...                                         # a construct that breaks the rule, one that keeps it
        return None                                 # or facts the tests need from building (JSON)

    findings = findings_fixture(_build)             # options: disposable_stages=(...), aws_solutions=True

    def test_mine_is_flagged(findings: Findings) -> None:
        assert findings.rule_of("prod/Mine/Bad", "MyRule") == {"token"}

Every module under tests/ whose text calls `findings_fixture(` is a source of the recipe: the builder imports
it (outside pytest: `_build` must not need fixtures) and synthesizes its app; editing it builds afresh.
`_build` runs in that other process, so what a test needs to know from building (a logical id, say) is
returned by `_build` and read as `findings.facts`, never left in a module-level variable.

Each module keeps an App of its own, so its findings depend on its constructs only: rules look across every
stack of an app (stages sharing an account, cache policies per account, a stage's own stacks), and one app
for all modules would let one module's accounts and stages change another's findings. That isolation costs
nothing measurable: the eight modules of issue 21 synthesized in one process took 4.4-4.7 s as eight apps and
4.4-5.1 s as one.
"""

from __future__ import annotations

import importlib
import inspect
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.synth import ROOT, cdk_context

REGION = "eu-west-1"
CALL = "findings_fixture("
Build = Callable[[object], dict[str, Any] | None]
# What the modules imported in this process asked for: path relative to ROOT -> (build, options).
_REQUESTED: dict[str, tuple[Build, dict[str, Any]]] = {}


@dataclass(frozen=True)
class Findings:
    """Rule ids (``DeployReadiness-Name[token]``, ``AwsSolutions-...``) found per construct path (no pack
    crashed), what the module's `_build` returned, and the folder of its synthesized app."""

    by_path: dict[str, set[str]]
    facts: dict[str, Any] = field(default_factory=dict)
    outdir: Path | None = None

    def of(self, path: str) -> set[str]:
        """The findings on `path` and every resource below it."""
        return {rule for p, rules in self.by_path.items() if p == path or p.startswith(path + "/") for rule in rules}

    def rule_of(self, path: str, rule: str) -> set[str]:
        """The tokens of one rule found on `path` and below (e.g. {"secretsmanager"})."""
        prefix = f"DeployReadiness-{rule}["
        return {r[len(prefix) : -1] for r in self.of(path) if r.startswith(prefix)}


def synth_findings(
    outdir: Path,
    build: Build,
    *,
    disposable_stages: tuple[str, ...] = ("sandbox",),
    aws_solutions: bool = False,
) -> Findings:
    """Build a test app with `build(app)`, attach our pack (and AwsSolutions), synthesize, collect the findings."""
    from aws_cdk import App, Validations
    from cdk_nag import AwsSolutionsChecks

    from quality.readiness.pack import DeployReadinessChecks

    app = App(outdir=str(outdir), context=cdk_context())
    facts = build(app) or {}
    packs = [DeployReadinessChecks(app, disposable_stages=disposable_stages)]
    Validations.of(app).add_plugins(*packs, *([AwsSolutionsChecks(app)] if aws_solutions else []))
    try:
        app.synth()
    except RuntimeError as error:  # the pack found something: read the report
        if "Validation failed" not in str(error) and "ValidationFailed" not in str(error):
            raise
    report = json.loads((outdir / "validation-report.json").read_text())
    crashed = [p["metadata"]["error"] for p in report["pluginReports"] if p.get("metadata", {}).get("error")]
    assert crashed == [], f"the rule pack could not run: {crashed}"
    by_path: dict[str, set[str]] = {}
    for plugin in report["pluginReports"]:
        for violation in plugin["violations"]:
            for construct in violation["violatingConstructs"]:
                by_path.setdefault(construct["constructPath"], set()).add(violation["ruleName"])
    return Findings(by_path, facts, outdir)


def findings_fixture(build: Build, **options: Any) -> Any:
    """A module-scoped `findings` fixture: the module's test app, as the "test_apps" recipe synthesized it
    (`options` go to synth_findings)."""
    module = _relative(Path(inspect.getfile(build)))
    _REQUESTED[module] = (build, options)

    @pytest.fixture(scope="module")
    def findings(test_apps: dict[str, Any]) -> Findings:
        return findings_of(test_apps, module)

    return findings


def findings_of(test_apps: dict[str, Any], module: str) -> Findings:
    """One module's findings from the recipe's facts (test_apps: the `test_apps` session fixture)."""
    app = test_apps["apps"].get(module)
    if app is None:
        raise LookupError(f"{module} has no test app: call {CALL}_build) at module level (tests/support/readiness.py)")
    if app["error"]:
        raise RuntimeError(f"the test app of {module} could not be synthesized:\n{app['error']}")
    by_path = {path: set(rules) for path, rules in app["findings"].items()}
    return Findings(by_path, app["facts"], Path(test_apps["outdir"]) / app["folder"])


def stage_stack(app: object, stage: str, name: str, *, account: str | None = None) -> Any:
    """A stack `name` in stage `stage` of the test app, in the app's region (rules read regions and accounts)."""
    from aws_cdk import Environment, Stack, Stage

    return Stack(Stage(app, stage, env=Environment(account=account, region=REGION)), name)  # type: ignore[arg-type]


# --- the recipe -----------------------------------------------------------------------------------


def app_modules(root: Path | None = None) -> list[Path]:
    """Every test module that builds a test app (calls findings_fixture): the recipe's sources."""
    root = root or ROOT
    return sorted(
        path
        for path in (root / "tests").rglob("test_*.py")
        if "__pycache__" not in path.parts and CALL in path.read_text()
    )


def build_test_apps(outdir: Path) -> dict[str, Any]:
    """Recipe "test_apps": import every module of app_modules() and synthesize its app into a folder of its own;
    a module that fails records its traceback for its own tests, the others are built all the same."""
    apps: dict[str, Any] = {}
    for path in app_modules():
        module = _relative(path)
        folder = Path(module).with_suffix("").as_posix().replace("/", "-")
        try:
            importlib.import_module(".".join(Path(module).with_suffix("").parts))
            build, options = _REQUESTED[module]
            found = synth_findings(outdir / folder, build, **options)
            rules = {p: sorted(r) for p, r in found.by_path.items()}
            apps[module] = {"folder": folder, "findings": rules, "facts": found.facts, "error": None}
        except Exception:
            apps[module] = {"folder": folder, "findings": {}, "facts": {}, "error": traceback.format_exc()}
    return {"apps": apps}


def _relative(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()
