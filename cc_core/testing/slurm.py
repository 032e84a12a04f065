"""A one-node SLURM cluster for tests: munged, slurmctld and slurmd of this machine, started in a folder of their own.

Everything lives in one temporary folder: the munge key and socket, ``slurm.conf``, the state and spool folders,
the logs and the job-completion log. Nothing under ``/etc`` is touched; clients find the cluster through
``SLURM_CONF`` (see :attr:`SlurmCluster.env`). Ports are picked free, so two test sessions on one machine do not
meet. Start it once per test session::

    @pytest.fixture(scope="session")
    def slurm_cluster():
        with SlurmCluster() as cluster:
            yield cluster

When a binary is missing the test is skipped with the reason, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Callable, Iterator, NoReturn, Optional

DAEMONS = ("slurmctld", "slurmd", "munged")
CLIENTS = ("sbatch", "squeue", "scontrol", "sinfo", "scancel", "sacct")
SYSTEM_PATHS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


class SlurmUnavailable(RuntimeError):
    """A SLURM or munge binary this machine lacks."""


def _search_path() -> str:
    parts = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(parts + [p for p in SYSTEM_PATHS if p not in parts])


def find_binaries() -> dict[str, str]:
    """Paths of every binary a test cluster needs; :class:`SlurmUnavailable` names the missing ones."""
    path = _search_path()
    found = {name: shutil.which(name, path=path) for name in DAEMONS + CLIENTS}
    missing = sorted(name for name, where in found.items() if where is None)
    if missing:
        raise SlurmUnavailable(
            f"SLURM is not installed here (missing: {', '.join(missing)}); "
            "install it with: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge")
    return {name: str(where) for name, where in found.items()}


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the calling test, or fail it when ``CI=true`` (a missing component is a failure there)."""
    from cc_core.testing.sshd import missing_component

    missing_component(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(proc: Optional[subprocess.Popen[bytes]]) -> bool:
    return proc is not None and proc.poll() is None


class SlurmCluster:
    """munged + slurmctld + slurmd with one node (this machine) and one partition.

    :meth:`start` returns once the node is idle and a first trivial job has completed (the controller's first
    scheduling pass), so the first real job of a test starts at once.
    """

    partition = "debug"

    def __init__(self, base_dir: Optional[Path] = None, *, cpus: Optional[int] = None, memory_mb: int = 1024,
                 kill_wait: int = 1, min_job_age: int = 300, message_timeout: int = 3) -> None:
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir) if base_dir else Path(tempfile.mkdtemp(prefix="cc-slurm-"))
        self.memory_mb = memory_mb
        self.kill_wait = kill_wait
        self.min_job_age = min_job_age
        # Clients retry a controller that does not answer for about twice this long (SLURM's default is 10 s).
        self.message_timeout = message_timeout
        self.node_name = socket.gethostname().split(".")[0]
        # More CPUs than the machine has may be declared (slurmd then takes slurm.conf's word for it), so that
        # many small test jobs run side by side.
        self.cpus = cpus or os.cpu_count() or 1
        self.conf_path = self.base_dir / "slurm.conf"
        self.log_dir = self.base_dir / "log"
        self.jobcomp_log = self.log_dir / "jobcomp.log"
        self.munge_socket = self.base_dir / "munge" / "munge.socket"
        self.binaries: dict[str, str] = {}
        self._munged: Optional[subprocess.Popen[bytes]] = None
        self._slurmctld: Optional[subprocess.Popen[bytes]] = None
        self._slurmd: Optional[subprocess.Popen[bytes]] = None
        self._outputs: list[IO[bytes]] = []

    # -- what tests use -------------------------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        """The environment for SLURM clients (``sbatch``, ``squeue``, ...) to reach this cluster."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf_path)
        env["PATH"] = _search_path()
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a SLURM client command against this cluster."""
        result = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
        return result

    def job_field(self, job_id: str, name: str) -> Optional[str]:
        """One field of ``scontrol show job -o ID`` (e.g. ``JobState``), ``None`` when the job is unknown."""
        result = self.run("scontrol", "show", "job", "-o", str(job_id), check=False)
        for word in result.stdout.split():
            key, _, value = word.partition("=")
            if key == name:
                return value
        return None

    def wait_for_state(self, job_id: str, states: set[str], timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.job_field(job_id, "JobState")
            if state in states:
                return state
            time.sleep(0.1)
        raise TimeoutError(f"SLURM job {job_id} is {state}, not one of {sorted(states)}, after {timeout} s")

    # -- life cycle ---------------------------------------------------------------------------------------

    def start(self) -> "SlurmCluster":
        """Start munged, slurmctld and slurmd; skip (or fail under CI) the test when SLURM is not installed."""
        try:
            self.binaries = find_binaries()
        except SlurmUnavailable as exc:
            self.stop()
            skip_or_fail(str(exc))
        try:
            self._prepare()
            self._start_munged()
            self._slurmctld = self._spawn("slurmctld", [self.binaries["slurmctld"], "-D", "-f", str(self.conf_path)])
            self._slurmd = self._spawn("slurmd", [self.binaries["slurmd"], "-D", "-f", str(self.conf_path),
                                                  "-N", self.node_name])
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every daemon this cluster started and remove its folder."""
        if _alive(self._slurmctld) or _alive(self._slurmd):
            try:
                self.run("scontrol", "shutdown", check=False, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for proc in (self._slurmd, self._slurmctld):
            self._end(proc, grace=10)
        self._end(self._munged, grace=0)
        self._slurmctld = self._slurmd = self._munged = None
        for output in self._outputs:
            output.close()
        self._outputs.clear()
        if self._own_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def restart_controller(self, downtime: float = 0.0) -> None:
        """Stop slurmctld (which saves its state) and start it again; jobs keep running under slurmd meanwhile.
        ``downtime`` seconds pass between the two."""
        self.stop_controller()
        if downtime:
            time.sleep(downtime)
        self.start_controller()

    def stop_controller(self) -> None:
        """``scontrol shutdown slurmctld`` and wait until slurmctld has exited."""
        self.run("scontrol", "shutdown", "slurmctld", check=False)
        self._end(self._slurmctld, grace=30)

    def start_controller(self) -> None:
        """Start slurmctld again (it recovers its saved state) and wait until it answers."""
        if _alive(self._slurmctld):
            return
        self._slurmctld = self._spawn("slurmctld", [self.binaries["slurmctld"], "-D", "-f", str(self.conf_path)])
        self._wait_until(lambda: "UP" in self.run("scontrol", "ping", check=False).stdout, 30,
                         "slurmctld did not answer after its restart")

    def __enter__(self) -> "SlurmCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inside -------------------------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.base_dir.chmod(0o755)   # munged wants every folder above its socket searchable
        for sub in ("munge", "state", "spool", "log", "run"):
            (self.base_dir / sub).mkdir(exist_ok=True)
        key = self.base_dir / "munge" / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(128))
            key.chmod(0o400)
        user = _user_name()
        base = self.base_dir
        self.conf_path.write_text(f"""\
ClusterName=cctest
SlurmctldHost={self.node_name}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser={user}
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/run/slurmctld.pid
SlurmdPidFile={base}/run/slurmd.pid
SlurmctldLogFile={self.log_dir}/slurmctld.log
SlurmdLogFile={self.log_dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmdParameters=config_overrides
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp_log}
MinJobAge={self.min_job_age}
KillWait={self.kill_wait}
MessageTimeout={self.message_timeout}
EnforcePartLimits=ALL
NodeName={self.node_name} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} State=UNKNOWN
PartitionName={self.partition} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")

    def _start_munged(self) -> None:
        munge = self.base_dir / "munge"
        self._munged = self._spawn("munged", [
            self.binaries["munged"], "--foreground", "--force", f"--socket={self.munge_socket}",
            f"--key-file={munge / 'munge.key'}", f"--log-file={self.log_dir / 'munged.log'}",
            f"--pid-file={munge / 'munged.pid'}", f"--seed-file={munge / 'munged.seed'}"])
        self._wait_until(self.munge_socket.exists, 10, "munged did not create its socket")

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        output = open(self.log_dir / f"{name}.out", "ab")
        self._outputs.append(output)
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                env=self.env, start_new_session=True)

    def _wait_ready(self) -> None:
        self._wait_until(lambda: self.run("sinfo", "-h", "-o", "%T", check=False).stdout.strip() == "idle", 30,
                         "the node did not become idle")
        # The first scheduling pass comes a few seconds after slurmctld starts; wait for it once here.
        first = self.run("sbatch", "--parsable", "-o", "/dev/null", "--wrap", "true").stdout.strip()
        self.wait_for_state(first.split(";")[0], {"COMPLETED"}, timeout=30)

    def _wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in (("munged", self._munged), ("slurmctld", self._slurmctld), ("slurmd", self._slurmd)):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode} while starting; "
                                       f"see {self.log_dir}:\n{self.log_tail(name)}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{what} within {timeout} s; see {self.log_dir}:\n{self.log_tail('slurmctld')}")

    def log_tail(self, name: str, lines: int = 20) -> str:
        text = ""
        for path in (self.log_dir / f"{name}.log", self.log_dir / f"{name}.out"):
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    @staticmethod
    def _end(proc: Optional[subprocess.Popen[bytes]], grace: float) -> None:
        if proc is None or proc.poll() is not None:
            return
        if grace:
            try:
                proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                pass
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _user_name() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def slurm_cluster_fixture() -> Iterator[SlurmCluster]:
    """Body of a session-scoped fixture: ``yield from slurm_cluster_fixture()``."""
    cluster = SlurmCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
