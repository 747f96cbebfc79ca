"""Rank, world size and rendezvous from each launcher's variables, in the fixed order, and every way
they can be wrong."""
from __future__ import annotations

import pytest
from singa_proto import plan_pb2
from singart import SingaError
from singart.launch.rank import Rank, check_world, first_host, resolve

# one full set of each source's variables, each naming a different rank, so a test sees which one won
SINGA = {"SINGA_RANK": "1", "SINGA_WORLD_SIZE": "6", "SINGA_MASTER": "10.0.0.9:7000"}
TORCHRUN = {"RANK": "2", "WORLD_SIZE": "6", "MASTER_ADDR": "10.0.0.8", "MASTER_PORT": "29500"}
SLURM = {"SLURM_PROCID": "3", "SLURM_NTASKS": "6", "SLURM_NODELIST": "node[07-09],gpu1"}
OMPI = {"OMPI_COMM_WORLD_RANK": "4", "OMPI_COMM_WORLD_SIZE": "6"}
PMI = {"PMI_RANK": "5", "PMI_SIZE": "6"}


def test_nothing_set_is_no_rank() -> None:
    assert resolve({"PATH": "/bin"}) is None


@pytest.mark.parametrize("env, expected", [
    (SINGA, Rank(1, 6, "10.0.0.9:7000", "SINGA (SINGA_RANK, SINGA_WORLD_SIZE)")),
    (TORCHRUN, Rank(2, 6, "10.0.0.8:29500", "torchrun (RANK, WORLD_SIZE)")),
    (SLURM, Rank(3, 6, "node07:6723", "Slurm (SLURM_PROCID, SLURM_NTASKS)")),
    (OMPI, Rank(4, 6, None, "Open MPI (OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE)")),
    (PMI, Rank(5, 6, None, "PMI (PMI_RANK, PMI_SIZE)")),
])
def test_each_source_alone(env: dict[str, str], expected: Rank) -> None:
    assert resolve(env) == expected


@pytest.mark.parametrize("sources, rank", [
    ((SINGA, TORCHRUN, SLURM, OMPI, PMI), 1),
    ((TORCHRUN, SLURM, OMPI, PMI), 2),
    ((SLURM, OMPI, PMI), 3),
    ((OMPI, PMI), 4),
])
def test_earlier_source_wins(sources: tuple[dict[str, str], ...], rank: int) -> None:
    env = {k: v for src in sources for k, v in src.items()}
    found = resolve(env)
    assert found is not None and found.rank == rank


def test_flags_win_over_every_variable() -> None:
    env = {**SINGA, **TORCHRUN, **SLURM, **OMPI, **PMI}
    assert resolve(env, rank=0, world_size=6, master="h:1") == Rank(0, 6, "h:1", "flags")


def test_master_flag_overrides_the_source_and_gets_the_default_port() -> None:
    found = resolve(TORCHRUN, master="box", default_port=7100)
    assert found is not None and (found.rank, found.master) == (2, "box:7100")


def test_singa_master_fills_in_for_a_launcher_that_names_none() -> None:
    # `mpirun -x SINGA_MASTER=...`: MPI's rank, our rendezvous
    found = resolve({**OMPI, "SINGA_MASTER": "10.1.1.1:9000"})
    assert found is not None and (found.rank, found.master) == (4, "10.1.1.1:9000")


@pytest.mark.parametrize("env, master", [
    ({**SLURM, "SLURM_LAUNCH_NODE_IPADDR": "10.2.0.5"}, "10.2.0.5:6723"),
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_JOB_NODELIST": "rack[1-2]-n[07,9]"}, "rack1-n07:6723"),
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "2"}, None),
    ({"RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "fe80::1"}, "[fe80::1]:6723"),
    ({"RANK": "0", "WORLD_SIZE": "2"}, None),
])
def test_rendezvous_of_a_launcher(env: dict[str, str], master: str | None) -> None:
    found = resolve(env)
    assert found is not None and found.master == master


@pytest.mark.parametrize("nodelist, host", [
    ("node1", "node1"), ("node[03-05,9],gpu1", "node03"), ("a,b", "a"), ("r[1-2]-n[7-8]", "r1-n7"),
    ("gpu[10,2-3]", "gpu10"),
])
def test_first_host_of_a_slurm_node_list(nodelist: str, host: str) -> None:
    assert first_host(nodelist) == host


@pytest.mark.parametrize("env, flags, message", [
    ({"SINGA_RANK": "1"}, {}, "SINGA_RANK is set but SINGA_WORLD_SIZE is not; set both"),
    ({"WORLD_SIZE": "4"}, {}, "WORLD_SIZE is set but RANK is not; set both"),
    ({"SLURM_PROCID": "0"}, {}, "SLURM_PROCID is set but SLURM_NTASKS is not; set both"),
    ({"OMPI_COMM_WORLD_SIZE": "2"}, {}, "OMPI_COMM_WORLD_SIZE is set but OMPI_COMM_WORLD_RANK is not"),
    ({"PMI_RANK": "0"}, {}, "PMI_RANK is set but PMI_SIZE is not"),
    # a half-set earlier source is an error, not a cue to read a later, complete one
    ({"SINGA_RANK": "1", **TORCHRUN}, {}, "SINGA_RANK is set but SINGA_WORLD_SIZE is not"),
    ({}, {"rank": 1}, "--rank is set but --world-size is not"),
    ({}, {"world_size": 2}, "--world-size is set but --rank is not"),
    ({"RANK": "4", "WORLD_SIZE": "4"}, {}, "RANK=4 is out of range for WORLD_SIZE=4 (ranks 0 to 3)"),
    ({}, {"rank": 2, "world_size": 2}, "--rank=2 is out of range for --world-size=2"),
    ({"PMI_RANK": "0", "PMI_SIZE": "0"}, {}, "PMI_SIZE=0: a world size is at least 1"),
    ({"RANK": "one", "WORLD_SIZE": "4"}, {}, "RANK='one' is not a whole number >= 0"),
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "2.0"}, {}, "SLURM_NTASKS='2.0' is not a whole number"),
    ({"SINGA_RANK": "-1", "SINGA_WORLD_SIZE": "2"}, {}, "SINGA_RANK='-1' is not a whole number"),
    ({"OMPI_COMM_WORLD_RANK": "\u00b2", "OMPI_COMM_WORLD_SIZE": "4"}, {}, "is not a whole number"),
    ({}, {"rank": -1, "world_size": 2}, "--rank='-1' is not a whole number"),
    ({**SINGA, "SINGA_MASTER": "nohost"}, {}, "SINGA_MASTER='nohost' is not an address host:port"),
    ({**SINGA, "SINGA_MASTER": "h:70000"}, {}, "SINGA_MASTER='h:70000' is not an address host:port"),
    ({**TORCHRUN, "MASTER_PORT": "x"}, {}, "MASTER_ADDR/MASTER_PORT='10.0.0.8:x' is not an address"),
    ({"RANK": "0", "WORLD_SIZE": "2", "MASTER_PORT": "29500"}, {}, "MASTER_PORT is set but MASTER_ADDR is not"),
    (OMPI, {"master": "a b:1"}, "--master='a b:1' is not an address host:port"),
])
def test_bad_variables_are_one_line_errors(env: dict[str, str], flags: dict[str, object], message: str) -> None:
    with pytest.raises(SingaError) as err:
        resolve(env, **flags)  # type: ignore[arg-type]
    assert message in str(err.value) and "\n" not in str(err.value)


def _plan(nprocs: int, roles: int) -> plan_pb2.PlanProto:
    plan = plan_pb2.PlanProto()
    plan.topology.nprocs = nprocs
    for r in range(roles):
        plan.roles.add(rank=r)
    return plan


def test_world_size_that_matches_the_plan() -> None:
    check_world(Rank(0, 3, None, "flags"), _plan(3, 3), "job.plan")


def test_world_size_that_does_not_match_the_plan() -> None:
    found = resolve(OMPI)
    assert found is not None
    with pytest.raises(SingaError) as err:
        check_world(found, _plan(3, 3), "job.plan")
    assert str(err.value) == ("job.plan: the plan places 3 process(es) but Open MPI (OMPI_COMM_WORLD_RANK, "
                              "OMPI_COMM_WORLD_SIZE) gives a world size of 6; start it with 3 processes")


def test_plan_whose_role_table_disagrees_with_its_topology() -> None:
    with pytest.raises(SingaError, match="job.plan: the plan's topology has 2 process.*role table 3"):
        check_world(Rank(0, 2, None, "flags"), _plan(2, 3), "job.plan")


def test_describe_names_the_source() -> None:
    found = resolve(TORCHRUN)
    assert found is not None
    assert found.describe() == "rank 2 of 6 from torchrun (RANK, WORLD_SIZE), master 10.0.0.8:29500"
