"""scripts/rehearse.sh: the chain printed and run on the fakes, and every cut failing with its real-world error."""

from __future__ import annotations

import io
import subprocess

import pytest

from tests.chain import EXPECTED_FAILURE, EXPECTED_FILE_FAILURE
from tests.rehearse import CHAIN_CUTS, MOUNT_FAILED, MOUNT_FIX, main
from tests.stack.cuts import LEAKED_GRANT
from tests.stack.harness import ROOT


def test_the_script_prints_the_chain_and_the_jobs_ok_line() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "rehearse.sh")], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("== evaluating the program for stack dev")
    assert any("subject  system:serviceaccount:workload-identity-demo:keyvault-reader" in line for line in lines)
    assert any(line.strip().startswith("OK secret=demo-secret ") for line in lines)
    # dev reads both ways: the file Job's mount and its check follow.
    assert any(line.strip().startswith("OK file=/mnt/secrets-store/demo-secret ") for line in lines)
    # Each Job's lines under its own heading, in order.
    sdk_ok = next(i for i, line in enumerate(lines) if line.strip().startswith("OK secret="))
    mounting = next(i for i, line in enumerate(lines) if line.startswith("== mounting the file Job's CSI volume"))
    assert sdk_ok < next(i for i, line in enumerate(lines) if line.startswith("== the Job's app exited 0")) < mounting
    assert lines[-1].startswith("== the file Job's app exited 0")


def test_list_cuts_names_each_cut_a_line() -> None:
    out = io.StringIO()
    assert main(["--list-cuts"], out) == 0
    lines = out.getvalue().splitlines()
    assert [line.split("\t")[0] for line in lines] == CHAIN_CUTS
    assert [*EXPECTED_FAILURE, *EXPECTED_FILE_FAILURE, LEAKED_GRANT.name] == CHAIN_CUTS
    # What a cut needs, after a tab: the CSI cuts dev's CSI driver, the leaked grant the three workloads.
    assert {line.split("\t")[0]: line.partition("\t")[2] for line in lines} == {
        **dict.fromkeys(EXPECTED_FAILURE, ""),
        **dict.fromkeys(EXPECTED_FILE_FAILURE, "needs the CSI driver (dev)"),
        LEAKED_GRANT.name: "needs --three-workloads",
    }


@pytest.mark.parametrize("cut", [*EXPECTED_FAILURE, *EXPECTED_FILE_FAILURE])
def test_every_cut_fails_with_its_real_world_error(cut: str) -> None:
    out = io.StringIO()
    code = main(["--cut", cut], out)
    if cut in EXPECTED_FAILURE:
        exit_code, symptom = EXPECTED_FAILURE[cut]
        assert f"== the Job's app exited {exit_code}" in out.getvalue()
    else:  # the driver's mount fails: the pod would never start
        exit_code, symptom = MOUNT_FAILED, EXPECTED_FILE_FAILURE[cut]
        assert "== the file Job's volume did not mount" in out.getvalue()
        assert MOUNT_FIX in out.getvalue()
    assert code == exit_code, out.getvalue()
    assert symptom in out.getvalue()


@pytest.mark.parametrize("cut", list(EXPECTED_FILE_FAILURE))
def test_a_csi_cut_on_a_stack_without_csi_is_refused(cut: str) -> None:
    out = io.StringIO()
    assert main(["prod", "--cut", cut], out) == 2
    assert out.getvalue().splitlines()[-1] == (
        f"scripts/rehearse.sh: stack prod does not read with the CSI driver; --cut {cut!r} needs dev"
    )


@pytest.mark.xdist_group("three workloads: chain")
def test_three_workloads_each_read_their_secrets_and_are_refused_the_others() -> None:
    out = io.StringIO()
    assert main(["--three-workloads"], out) == 0, out.getvalue()
    text = out.getvalue()
    for workload in ("orders", "payments", "reports"):
        assert f"   workload {workload}" in text
        assert f"== running {workload}-isolation: {workload}'s identity must be refused" in text
    assert text.count("OK denied secret=") == 3
    assert text.count("== the isolation Job's app exited 0") == 3


@pytest.mark.xdist_group("three workloads: chain")
def test_the_leaked_grant_fails_the_isolation_check_of_the_workload_it_leaks_to() -> None:
    out = io.StringIO()
    assert main(["--three-workloads", "--cut", LEAKED_GRANT.name], out) == 11
    text = out.getvalue()
    assert "FAILED (exit 11, isolation broken): workload orders" in text
    assert "which only payments may read" in text
    assert text.count("== the isolation Job's app exited 0") == 2, "payments and reports are still isolated"


def test_the_leaked_grant_needs_the_three_workloads() -> None:
    out = io.StringIO()
    assert main(["--cut", LEAKED_GRANT.name], out) == 2
    assert out.getvalue().splitlines()[-1] == (
        f"scripts/rehearse.sh: --cut {LEAKED_GRANT.name!r} needs --three-workloads (it grants orders payments-key)"
    )


def test_a_bad_setting_is_the_programs_one_line() -> None:
    out = io.StringIO()
    assert main(["--config", "namespace=kube-system"], out) == 2
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("scripts/rehearse.sh: config 'namespace': 'kube-system' is a system namespace")
    assert "Traceback" not in out.getvalue()


def test_the_prod_rehearsal_says_which_range_stands_in_for_the_placeholder() -> None:
    out = io.StringIO()
    assert main(["prod"], out) == 0, out.getvalue()
    assert (
        "   authorizedIpRanges: Pulumi.prod.yaml holds a documentation placeholder, which the program refuses; "
        'rehearsing with ["52.140.10.0/24"] in its place (set your own before deploying)'
    ) in out.getvalue().splitlines()


def test_the_chain_marks_the_link_a_cut_changed() -> None:
    out = io.StringIO()
    main(["--cut", "wrong audience"], out)
    marked = [line for line in out.getvalue().splitlines() if line.endswith("<<")]
    assert marked == ["                            audience api://AzureADTokenExchangeX   <<"]


def test_an_unknown_cut_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--cut", "no such wire"])
    assert exited.value.code == 2
    assert "invalid choice: 'no such wire'" in capsys.readouterr().err
