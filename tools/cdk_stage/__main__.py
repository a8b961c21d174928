"""The README's AWS targets for one stage: bootstrap, deploy, hotswap, diff-deployed, destroy.

    python -m tools.cdk_stage deploy --stage sandbox [--stacks 'Chat Edge*'] [--assembly DIR]

Each target checks the credentials first (one line and exit 2 when there are none or AWS cannot be
reached, or when they are for another account than the stage names, or for an account another stage
names; hotswap refuses before all that a stage whose config does not allow it), synthesizes the stage once
into cdk.out.<stage> (or uses --assembly DIR, synthesized there first when DIR does not exist), prints the
stacks it acts on, and runs the CDK CLI on exactly those (`--app DIR --exclusively`): the CLI's `--all`
selects only top-level stacks, and every stack here lives in a stage. CDK_ARGS passes extra CLI arguments
(`-c key=value` goes to the synth, and overrides stage settings as in app.py); CDK picks the CLI. Stacks
are read with the credentials given, never through another role (CDK's lookup role holds ReadOnlyAccess).
Exit codes: 0 done; 1 differences (diff-deployed --fail); 2 anything failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import botocore.exceptions

from stage.config import STAGES, ConfigError, StageConfig, load_stage, shared_account_warning, stage_overrides
from tools.cdk_stage import assembly, aws, cdk, execution_policy, hotswap
from tools.cdk_stage.assembly import Selection, StackArtifact

POLICY_PREFIX = "cdk-reference-app"  # managed policies the bootstrap creates: <prefix>-<stage>-cfn-exec-<n>
KEEPS = ("Retain", "RetainExceptOnCreate", "Snapshot")


class TargetError(RuntimeError):
    """The target cannot go on; the message is one line saying why."""


class Target:
    """One run of one target: its stage, its stacks, its account."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.name: str = args.target
        self.stage: str = args.stage
        self.patterns: str = args.stacks or ""
        self.args = cdk.CdkArgs.parse(os.environ.get("CDK_ARGS", ""))
        self.fail: bool = args.fail
        self.force: bool = args.force
        self.method: str | None = args.method
        self.execution_policy: bool = args.execution_policy
        self.expected_account: str | None = args.account
        self.assembly_dir = Path(args.assembly) if args.assembly else cdk.ROOT / f"cdk.out.{self.stage}"
        self.reuse = bool(args.assembly) and self.assembly_dir.exists()
        self.account = ""
        self.selection: Selection

    def prepare(self) -> None:
        """The stage's config (with CDK_ARGS' settings), credentials, the assembly, the selection: cheapest
        failure first."""
        try:
            config = load_stage(self.stage, stage_overrides(self.args.overrides()))
        except ConfigError as error:
            raise TargetError(str(error)) from None
        if self.name == "hotswap" and not config.allow_hotswap:
            raise TargetError(hotswap.refusal(self.stage))
        if config.github is not None and config.github.shared_account:
            print(f"warning: {shared_account_warning(config.facts)}")
        try:
            self.account = aws.check_access(config.region)
        except aws.NoAccess as error:
            raise TargetError(f"make {self.name} STAGE={self.stage} needs AWS access: {error}") from None
        if self.expected_account and self.expected_account != self.account:
            raise TargetError(
                f"ACCOUNT={self.expected_account}, but the current credentials are for account {self.account}"
            )
        self._check_account(config)
        if self.reuse:
            if self.args.context:
                raise TargetError(
                    f"CDK_ARGS sets {cdk.quoted(self.args.context)}, but {self.assembly_dir} is already "
                    "synthesized; remove it or drop ASSEMBLY to synthesize with these settings"
                )
            print(f"using the cloud assembly in {self.assembly_dir} (not synthesized again)")
        else:
            seconds = cdk.synth(self.stage, self.assembly_dir, self.args.context)
            print(f"synthesized stage {self.stage} into {self.assembly_dir} in {seconds:.0f} s")
        try:
            self.selection = assembly.select(assembly.read_assembly(self.assembly_dir), self.stage, self.patterns)
        except assembly.SelectionError as error:
            raise TargetError(str(error)) from None

    def _check_account(self, config: StageConfig) -> None:
        """A stage deploys to the account it names, and a stage that names none not to another stage's."""
        if config.account and config.account != self.account:
            raise TargetError(
                f"stage {self.stage} deploys to account {config.account} (its `account` in stage/config.py), "
                f"but the current credentials are for account {self.account}"
            )
        owners = [
            name for name, declared in STAGES.items() if name != self.stage and declared.get("account") == self.account
        ]
        if not config.account and owners:
            raise TargetError(
                f"the current credentials are for account {self.account}, stage {owners[0]}'s own; stage "
                f"{self.stage} names no account (set its `account` in stage/config.py) and may not deploy there"
            )

    def status(self, stack: StackArtifact) -> str | None:
        try:
            return aws.stack_status(stack.stack_name, stack.region)
        except aws.MayNotRead as error:
            raise TargetError(str(error)) from None

    def physical_ids(self, stack: StackArtifact) -> dict[str, str]:
        try:
            return aws.physical_ids(stack.stack_name, stack.region)
        except aws.MayNotRead as error:
            raise TargetError(str(error)) from None

    def announce(self, verb: str, stacks: list[StackArtifact]) -> None:
        print(f"{verb} in account {self.account}, {len(stacks)} stack(s) of {self.stage}, in this order:")
        for stack in stacks:
            print(f"  {stack.display_name} ({stack.stack_name}, {stack.region})")
        if self.selection.left_out:
            left = ", ".join(s.display_name for s in self.selection.left_out)
            print(f"left out (STACKS='{self.patterns}'): {left}")

    def cli(self, command: str, stacks: list[StackArtifact], *extra: str, tee: bool = False) -> str:
        names = [s.display_name for s in stacks]
        return cdk.run(
            [command, "--app", str(self.assembly_dir), *names, "--exclusively", *extra, *self.args.command], tee=tee
        )


def bootstrap(target: Target) -> int:
    regions: dict[str, list[str]] = {}
    for stack in target.selection.chosen:
        regions.setdefault(stack.region, []).append(stack.display_name)
    print(f"bootstrap for {target.stage} in account {target.account}:")
    for region, names in regions.items():
        print(f"  aws://{target.account}/{region} (for {', '.join(names)})")
    environments = [f"aws://{target.account}/{region}" for region in regions]
    cdk.run(
        [
            "bootstrap",
            "--app",
            str(target.assembly_dir),
            *environments,
            *_execution_policies(target),
            *target.args.command,
        ]
    )
    return 0


def _execution_policies(target: Target) -> list[str]:
    """With EXECUTION_POLICY=1: the stage's execution policy as managed policies, for CloudFormation's role."""
    if not target.execution_policy:
        print("note: CloudFormation's execution role gets AdministratorAccess (CDK's default); EXECUTION_POLICY=1 "
              "bootstraps with the actions the stage's resource types need (docs/ci.md)")  # fmt: skip
        return []
    stacks = target.selection.chosen
    try:
        documents = execution_policy.documents(stacks)
    except execution_policy.PolicyError as error:
        raise TargetError(str(error)) from None
    region = stacks[0].region
    arns = aws.put_managed_policies(f"{POLICY_PREFIX}-{target.stage}-cfn-exec", documents, region, target.account)
    count = sum(len(d["Statement"][0]["Action"]) for d in documents)
    types = len(execution_policy.resource_types(stacks))
    print(f"execution policy: {count} actions for {types} resource types, in {len(arns)} managed policies:")
    print("\n".join(f"  {arn}" for arn in arns))
    return ["--cloudformation-execution-policies", ",".join(arns)]


def deploy(target: Target) -> int:
    chosen = target.selection.chosen
    target.announce("deploy", chosen)
    for name, missing in target.selection.unselected_dependencies().items():
        print(f"note: {name} needs {', '.join(missing)}, which must already be deployed")
    return _deploy_and_print_outputs(target)


def hotswap_(target: Target) -> int:
    """`cdk deploy --hotswap`, never `--hotswap-fallback`: a change it cannot hotswap is listed and skipped,
    not deployed through CloudFormation behind the user's back."""
    chosen = target.selection.chosen
    target.announce("hotswap", chosen)
    statuses = {s.display_name: target.status(s) for s in chosen}
    unready = {name: status for name, status in statuses.items() if status not in hotswap.READY}
    if unready:
        raise TargetError(hotswap.not_ready(unready, target.stage))
    print("what a hotswap can push (it skips any other change; the CDK CLI names only some of those):")
    for stack in chosen:
        print("\n".join(f"  {line}" for line in hotswap.reach(stack)))
    code = _deploy_and_print_outputs(target, "--hotswap")
    print(
        f"\nnote: what was hotswapped now drifts from the CloudFormation templates of {', '.join(statuses)}, and "
        "`make diff-deployed` (which compares templates) cannot see it; a full "
        f"`make deploy STAGE={target.stage}` (CDK_ARGS=--revert-drift, as the CDK CLI advises) brings it back"
    )
    return code


def _deploy_and_print_outputs(target: Target, *extra: str) -> int:
    chosen = target.selection.chosen
    outputs_file = target.assembly_dir / "outputs.json"
    outputs_file.unlink(missing_ok=True)
    target.cli("deploy", chosen, *extra, "--outputs-file", str(outputs_file))
    outputs = json.loads(outputs_file.read_text()) if outputs_file.exists() else {}
    print(f"\nOutputs of {target.stage} (also in {outputs_file}):")
    for stack in chosen:
        for key, value in sorted(outputs.get(stack.stack_name, {}).items()):
            print(f"  {stack.display_name} {key} = {value}")
    return 0


def diff_deployed(target: Target) -> int:
    chosen = target.selection.chosen
    target.announce("diff against what is deployed", chosen)
    absent = []
    for stack in chosen:
        status = target.status(stack)
        if status is None:
            absent.append(stack.display_name)
        print(f"  {stack.display_name}: {status or 'not deployed: every resource shows as new'}")
    method = [f"--method={target.method}"] if target.method else []
    count = cdk.differences(target.cli("diff", chosen, *method, tee=True))
    compared = [s.display_name for s in chosen if s.display_name not in absent]
    print(
        f"\ndiff-deployed {target.stage}: {count} of {len(chosen)} stack(s) differ; compared with the deployed "
        f"stack: {', '.join(compared) or 'none'}"
        + (f"; not deployed (counted as differing): {', '.join(absent)}" if absent else "")
    )
    return 1 if target.fail and count else 0


def _confirm(target: Target, stacks: list[StackArtifact]) -> None:
    if target.force:
        return
    if not sys.stdin.isatty():
        raise TargetError("destroy asks for confirmation and no terminal is attached; pass FORCE=1 to go ahead")
    answer = input(
        f"Delete {len(stacks)} stack(s) of {target.stage}: {', '.join(s.display_name for s in stacks)}? [y/N] "
    )
    if answer.strip().lower() not in {"y", "yes"}:
        raise TargetError("nothing deleted")


def destroy(target: Target) -> int:
    stacks = list(reversed(target.selection.chosen))
    target.announce("destroy", stacks)
    for name, dependents in target.selection.unselected_dependents().items():
        for dependent in dependents:
            print(f"note: {dependent} (not selected) needs {name}")
    live = {s.display_name: target.status(s) for s in stacks}
    deployed = [s for s in stacks if live[s.display_name]]
    for stack in stacks:
        if not live[stack.display_name]:
            print(f"  {stack.display_name}: not deployed, nothing to delete")
    kept: list[str] = []
    if deployed:
        _confirm(target, deployed)
        for stack in deployed:
            kept += _kept(stack, target.physical_ids(stack))
        target.cli("destroy", deployed, "--force")
    if kept:
        print(f"\nKept by their DeletionPolicy ({len(kept)}; delete them yourself once no longer needed):")
        print("\n".join(f"  {line}" for line in kept))
    return 0


def _kept(stack: StackArtifact, physical: dict[str, str]) -> list[str]:
    lines = []
    for logical_id, resource in stack.resources_with_policy(*KEEPS).items():
        if logical_id not in physical:
            continue
        what = "a final snapshot of" if resource["DeletionPolicy"] == "Snapshot" else "kept:"
        lines.append(f"{stack.display_name}: {what} {resource['Type']} {logical_id} = {physical[logical_id]}")
    return lines


TARGETS: dict[str, Callable[[Target], int]] = {
    "bootstrap": bootstrap,
    "deploy": deploy,
    "hotswap": hotswap_,
    "diff-deployed": diff_deployed,
    "destroy": destroy,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cdk_stage", description=__doc__)
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--stage", default="sandbox")
    parser.add_argument("--stacks", help="stack ids or shell patterns of the stage (default: all)")
    parser.add_argument("--assembly", help="act on this cloud assembly (synthesized there if it does not exist)")
    parser.add_argument("--account", help="bootstrap: refuse unless the credentials are for this account")
    parser.add_argument("--fail", action="store_true", help="diff-deployed: exit 1 when a stack differs")
    parser.add_argument("--force", action="store_true", help="destroy: do not ask")
    parser.add_argument(
        "--method",
        choices=("auto", "change-set", "template"),
        help="diff-deployed: how the CLI computes the diff (template: DescribeStacks and GetTemplate only)",
    )
    parser.add_argument(
        "--execution-policy",
        action="store_true",
        help="bootstrap: give CloudFormation's role the stage's execution policy instead of AdministratorAccess",
    )
    args = parser.parse_args(argv)
    try:
        target = Target(args)
        target.prepare()
        code = TARGETS[args.target](target)
    except TargetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except cdk.CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except botocore.exceptions.BotoCoreError as error:
        print(f"error: AWS call failed: {error}", file=sys.stderr)
        return 2
    except botocore.exceptions.ClientError as error:
        print(f"error: AWS refused: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
