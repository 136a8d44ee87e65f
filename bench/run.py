"""The benchmark of issue 8: ``make bench`` or ``.venv/bin/python bench/run.py``.

It prepares everything itself, then measures:

1. a dedicated database (``atlas_bench`` on the embedded PostgreSQL, or ``DATABASE_URL``),
   migrated, with the demo data and ``generate_scale_data`` at ``BENCH_TOWNS`` ×
   ``BENCH_INDICATORS`` × ``BENCH_YEARS`` and ``BENCH_CSOS`` (reused when already there);
2. a partner user with two tokens (``read:partner``; ``write:indicators``);
3. the SQLite mirror of the public rows for Datasette (``bench/mirror.py``, reused when
   current) and Datasette in its own virtualenv ``var/bench-venv`` (bench/requirements.txt);
4. the atlas served the production way (gunicorn, ``governance/gunicorn.conf.py``,
   ``WEB_CONCURRENCY`` workers, DEBUG off, collected static files) with ``bench.settings``
   (production settings plus the peer URLs and a query-count header); Datasette under gunicorn
   with as many uvicorn workers; both on loopback ports 8200-8249;
5. each scenario with ``wrk`` for ``BENCH_SECONDS`` with ``BENCH_CONNECTIONS`` connections, on
   the atlas and, for the reads, on both peers in the same run and on the same rows;
6. the RSS of each atlas worker before and after ``BENCH_MEMORY_REQUESTS`` read requests.

The atlas is measured on each read scenario in each of ``BENCH_MODES`` (issue 19): *warm* (read
cache on, after a warm-up pass), *cold* (a second atlas server with the read cache off,
``READ_CACHE_TIMEOUT=0``), *writes* (warm, while a partner token posts one value a second and
one published value is written again, as an approval does) and *batches* (the same with 100
values, back to back); the latency of the partner's writes is reported too. The peers have
no cache to warm or to retire; they read the same PostgreSQL database (json_agg: every index
the atlas has) or a mirror given the equivalent indexes (Datasette). They are measured with
no writer, and again under each writer mode (the same writer, posting to the atlas's write
pool: it takes its share of the cores whichever server is read). The ratio table has one
column per mode, against the peers with no writer; the last line takes the lowest ratio over
all of them. A second table gives the writer modes against the peers under the same writer,
for information. The targets of issue 19 (cold p95 of the dashboard and the GeoJSON; write
p95 during the atlas's reads) are printed met or not.

The table goes to stdout and to bench/results/latest.md; the last line printed is
``lowest read ratio vs peers: X.XX``.

Environment (defaults): BENCH_TOWNS 2000, BENCH_INDICATORS 60, BENCH_YEARS 20, BENCH_CSOS
20000, BENCH_SECONDS 20, BENCH_CONNECTIONS 8, BENCH_THREADS 2, BENCH_TIMEOUT 10,
BENCH_MEMORY_REQUESTS 10000, BENCH_MEMORY_SECONDS 600, BENCH_PORT 8200, BENCH_DB_NAME atlas_bench,
WEB_CONCURRENCY 2, BENCH_SCENARIOS (e.g. "1,3,7"; default all), BENCH_MODES (default
"warm,cold,writes,batches"), BENCH_READ_CACHE_URL (default
files in var/bench/read-cache, emptied at the start of each run).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = ROOT / "var" / "bench"
VENV = ROOT / "var" / "bench-venv"
RESULTS = BENCH / "results" / "latest.md"
PORTS = range(8200, 8250)


def env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        sys.exit(f"{name} must be an integer, got {raw!r}")
    if value < minimum:
        sys.exit(f"{name} must be at least {minimum}")
    return value


@dataclass(frozen=True)
class Config:
    towns: int = env_int("BENCH_TOWNS", 2000)
    indicators: int = env_int("BENCH_INDICATORS", 60)
    years: int = env_int("BENCH_YEARS", 20)
    csos: int = env_int("BENCH_CSOS", 20000, minimum=0)
    seconds: int = env_int("BENCH_SECONDS", 20)
    # One pass over every request of a read scenario before it is measured, for every server
    # alike (the atlas's read cache, PostgreSQL's and SQLite's page caches); 0 measures cold.
    warmup: int = env_int("BENCH_WARMUP", 1)
    warmup_seconds: int = env_int("BENCH_WARMUP_SECONDS", 300)
    connections: int = env_int("BENCH_CONNECTIONS", 8)
    threads: int = env_int("BENCH_THREADS", 2)
    timeout: int = env_int("BENCH_TIMEOUT", 10)
    memory_requests: int = env_int("BENCH_MEMORY_REQUESTS", 10000, minimum=0)
    memory_seconds: int = env_int("BENCH_MEMORY_SECONDS", 600)
    workers: int = env_int("WEB_CONCURRENCY", 2)
    # Workers of the separate write pool the writer posts to during the "writes" and "batches"
    # modes (docs/deploy.md routes writes to one); 0: the writer posts to the read pool.
    write_workers: int = env_int("BENCH_WRITE_WORKERS", 1, minimum=0)
    port: int = env_int("BENCH_PORT", 8200)
    db_name: str = os.environ.get("BENCH_DB_NAME", "atlas_bench")
    scenarios: str = os.environ.get("BENCH_SCENARIOS", "1,2,3,4,5,6,7")
    # How the atlas is measured on each read scenario (issue 19): "warm" (the read cache on,
    # after a warm-up pass), "cold" (a second server with the read cache off,
    # READ_CACHE_TIMEOUT=0), "writes" (warm, while a writer posts one value a second) and
    # "batches" (warm, while a writer posts 100-value batches back to back).
    modes: str = os.environ.get("BENCH_MODES", "warm,cold,writes,batches")


CFG = Config()


def log(message: str) -> None:
    print(
        f"[bench {time.strftime('%H:%M:%S', time.gmtime())}] {message}", file=sys.stderr, flush=True
    )


# --- Environment and Django ------------------------------------------------------------------


def server_env() -> dict[str, str]:
    """The environment of the atlas under test: production settings plus the bench's own."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        # A reverse proxy terminates TLS in production; the load client says so in a header.
        USE_X_FORWARDED_PROTO="true",
        # The demo research and the scale set are synthetic (marked so); production settings
        # refuse synthetic data unless told it is a demonstration.
        ALLOW_SYNTHETIC_DATA="true",
        # One client address makes all the load: the per-client limits would turn it into 429s.
        API_THROTTLE_ANON=os.environ.get("API_THROTTLE_ANON", "100000000/min"),
        API_THROTTLE_USER=os.environ.get("API_THROTTLE_USER", "100000000/min"),
        STATIC_ROOT=str(WORK / "static"),
        # A read cache of the bench's own, emptied at the start of each run (see main()):
        # entries left by earlier runs or by `make run` would count against READ_CACHE_ENTRIES
        # and get this run's entries culled mid-measurement.
        # Its own variable: a READ_CACHE_URL or CACHE_URL of the environment (a Redis that
        # serves a real deployment) is never emptied by a benchmark.
        READ_CACHE_URL=os.environ.get("BENCH_READ_CACHE_URL", f"filecache://{WORK / 'read-cache'}"),
        PYTHONPATH=str(ROOT),
    )
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = secrets.token_urlsafe(50)
    if not env.get("DATABASE_URL"):
        env["EMBEDDED_DB_NAME"] = CFG.db_name
    return env


def setup_django() -> None:
    os.environ.update(server_env())
    # Run as a script, bench/ is first on the path: its modules must not shadow others.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def call(*args, **kwargs) -> str:
    from django.core.management import call_command

    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


# --- Tools -----------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing Debian's wrk")
        subprocess.run(["apt-get", "update", "-qq"], check=True)  # noqa: S607 (apt-get from PATH, as root only)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],  # noqa: S607 (apt-get from PATH, as root only)
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdout=subprocess.DEVNULL,
        )
        found = shutil.which("wrk")
    if not found:
        sys.exit("The benchmark needs wrk (Debian package): sudo apt-get install wrk")
    return found


def ensure_datasette_venv() -> Path:
    """Datasette lives in its own virtualenv: its pins must not touch the project's."""
    requirements = BENCH / "requirements.txt"
    stamp = VENV / ".requirements-sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and (VENV / "bin" / "gunicorn").exists():
        return VENV
    log(f"installing Datasette into {VENV.relative_to(ROOT)}")
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # noqa: S603 (fixed arguments)
    subprocess.run(  # noqa: S603 (fixed arguments)
        [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(requirements)],
        check=True,
    )
    stamp.write_text(digest)
    return VENV


# --- Data ------------------------------------------------------------------------------------


BENCH_YEAR_FROM = 2030  # the write scenario's rows: years no generated data uses


def ensure_data() -> dict:
    """Migrate, load the demo data and the scale data unless they are already there."""
    from csos.models import CSO
    from towns.models import IndicatorValue, Region, Town

    log("migrating")
    call("migrate", "--no-input")
    if not Region.objects.exists() or not Town.objects.filter(slug="hlybokaye").exists():
        log("loading the demo data")
        call("load_demo")
    # Values the write scenario left behind in an earlier run.
    removed = remove_written_values()
    if removed:
        log(f"removed {removed} values an earlier write scenario had posted")
    scale = Town.objects.filter(slug__startswith="scale-")
    want_values = CFG.towns * CFG.indicators * CFG.years
    have = {
        "towns": scale.count(),
        "values": IndicatorValue.objects.filter(town__slug__startswith="scale-").count(),
        "csos": CSO.objects.filter(slug__startswith="scale-").count(),
        "indicators": IndicatorValue.objects.filter(town__slug__startswith="scale-")
        .values("indicator")
        .distinct()
        .count(),
    }
    wanted = {
        "towns": CFG.towns,
        "values": want_values,
        "csos": CFG.csos,
        "indicators": CFG.indicators,
    }
    if have != wanted:
        log(
            f"generating scale data {CFG.towns} towns × {CFG.indicators} indicators × "
            f"{CFG.years} years, {CFG.csos} CSOs (found {have})"
        )
        start = time.perf_counter()
        out = call(
            "generate_scale_data",
            towns=CFG.towns,
            indicators=CFG.indicators,
            years=CFG.years,
            csos=CFG.csos,
            # Only an earlier scale set is removed (the command's rows), never the demo data.
            replace=any(have.values()),
        )
        log(f"generated in {time.perf_counter() - start:.0f} s: " + " | ".join(out.splitlines()))
    else:
        log(f"reusing the scale data already in the database ({have})")
    return data_facts()


def ensure_demo_data() -> dict:
    """Migrate and load the demo data unless it is there (a benchmark at demo size)."""
    from towns.models import Region

    call("migrate", "--no-input")
    if not Region.objects.exists():
        call("load_demo")
    return data_facts()


def data_facts() -> dict:
    from csos.models import CSO
    from towns.models import IndicatorValue, Town

    return {
        "towns": Town.objects.count(),
        "indicator values": IndicatorValue.objects.count(),
        "CSOs": CSO.objects.count(),
    }


def remove_written_values() -> int:
    from towns.models import IndicatorValue

    deleted, _ = IndicatorValue.objects.filter(
        town__slug__startswith="scale-", year__gte=BENCH_YEAR_FROM
    ).delete()
    return deleted


def partner_tokens() -> dict[str, str]:
    """A partner user and fresh tokens (keys are shown once, so each run issues new ones)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from governance.models import ApiClient

    user, _ = get_user_model().objects.get_or_create(username="bench-partner")
    user.groups.add(Group.objects.get(name="partner"))
    tokens = {}
    for name, scope in (("bench-read", "read:partner"), ("bench-write", "write:indicators")):
        if ApiClient.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
            call("issue_token", user.username, revoke=name)
        scopes = ["read:partner"] if scope == "read:partner" else ["read:partner", scope]
        tokens[scope] = call("issue_token", user.username, name=name, scopes=scopes).strip()
    return tokens


# --- Requests of each scenario ---------------------------------------------------------------


@dataclass
class Target:
    server: str  # "atlas", "pg json_agg", "datasette"
    base: str
    paths: list[str]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Scenario:
    number: int
    name: str
    targets: list[Target]
    write: list[str] | None = None  # for the write scenario: path, town slugs, "--", codes
    #: The kinds of kept read (towns/kept.py, comma-separated) the atlas answers it from.
    kept: str | None = None


def q(params: dict) -> str:
    return urllib.parse.urlencode(params, doseq=True)


def build_scenarios(atlas: str, datasette: str, tokens: dict[str, str]) -> list[Scenario]:
    """The request paths of every scenario, for each server, over the same rows."""
    from governance.text import fold
    from towns.models import IndicatorValue, Region, Town

    rng = random.Random(8)
    https = {"X-Forwarded-Proto": "https"}
    partner = {**https, "Authorization": f"Token {tokens['read:partner']}"}
    writer = {**https, "Authorization": f"Token {tokens['write:indicators']}"}
    ds = "/mirror"
    town_count = Town.objects.count()
    size = 50
    last_page = max(1, -(-town_count // size))
    # 1. Random pages in the deeper half of the whole list.
    pages = sorted({rng.randint(max(1, last_page // 2), last_page) for _ in range(40)})
    s1 = Scenario(
        1,
        "API town list, page size 50, random deep pages (anonymous)",
        [
            Target(
                "atlas",
                atlas,
                [f"/api/v1/towns/?{q({'page': p, 'page_size': size})}" for p in pages],
                https,
            ),
            Target(
                "pg json_agg",
                atlas,
                [f"/bench-peer/towns/?{q({'page': p, 'page_size': size})}" for p in pages],
                https,
            ),
            Target(
                "datasette",
                datasette,
                [
                    f"{ds}/town_page.json?"
                    + q(
                        {
                            "_shape": "objects",
                            "page": p,
                            "page_size": size,
                            "region": "",
                            "kind": "",
                            "population_min": "",
                            "q": "",
                        }
                    )
                    for p in pages
                ],
            ),
        ],
    )
    # 2. Filters and a Cyrillic name fragment (Russian and Belarusian spellings).
    regions = list(Region.objects.order_by("code").values_list("slug", flat=True))
    fragments = ["город 0", "город 1", "горад 00", "синтетич", "гарадок", "глуб", "ск", "бор", "ов"]
    combos = []
    for _ in range(40):
        combo = {"search": rng.choice(fragments), "region": rng.choice(regions)}
        if rng.random() < 0.5:
            combo["population_min"] = rng.choice([2000, 5000, 10000])
        combos.append(combo)
    s2 = Scenario(
        2,
        "API town list, filters + Cyrillic search (partner token)",
        [
            Target("atlas", atlas, [f"/api/v1/towns/?{q(c)}" for c in combos], partner),
            Target("pg json_agg", atlas, [f"/bench-peer/towns/?{q(c)}" for c in combos], https),
            Target(
                "datasette",
                datasette,
                [
                    f"{ds}/town_page.json?"
                    + q(
                        {
                            "_shape": "objects",
                            "page": 1,
                            "page_size": size,
                            "region": c["region"],
                            "kind": "",
                            "population_min": c.get("population_min", ""),
                            "q": fold(c["search"]),
                        }
                    )
                    for c in combos
                ],
            ),
        ],
    )
    # 3-5: one town per request, drawn from the scale towns (every town has the full series).
    towns = list(
        Town.objects.filter(slug__startswith="scale-")
        .order_by("?")
        .values_list("slug", flat=True)[:200]
    ) or list(Town.objects.order_by("?").values_list("slug", flat=True)[:200])
    sample = towns[0]
    codes = list(
        IndicatorValue.objects.filter(town__slug=sample, quarter=0)
        .order_by("indicator__code")
        .values_list("indicator__code", flat=True)
        .distinct()[:10]
    )
    series_pick = [(t, sorted(rng.sample(codes, min(10, len(codes))))) for t in towns]
    s3 = Scenario(
        3,
        f"API indicator series of one town, {len(codes)} indicators × {CFG.years} years",
        [
            Target(
                "atlas",
                atlas,
                [f"/api/v1/towns/{t}/indicators/?{q({'indicator': c})}" for t, c in series_pick],
                https,
            ),
            Target(
                "pg json_agg",
                atlas,
                [
                    f"/bench-peer/towns/{t}/indicators/?{q({'indicator': c})}"
                    for t, c in series_pick
                ],
                https,
            ),
            Target(
                "datasette",
                datasette,
                [
                    f"{ds}/town_series.json?"
                    + q({"_shape": "objects", "town": t, "codes": json.dumps(c)})
                    for t, c in series_pick
                ],
            ),
        ],
    )

    def one_town_each(
        number: int, name: str, atlas_path: str, peer_path: str, canned: str, kinds: str
    ):
        """A scenario of one town per request: the atlas's path, the json_agg peer's path (both
        with ``{t}`` for the town), Datasette's canned query returning the ``canned`` JSON, and
        the kinds of kept read the atlas answers it from (comma-separated)."""
        return Scenario(
            number,
            name,
            [
                Target("atlas", atlas, [atlas_path.format(t=t) for t in towns], https),
                Target("pg json_agg", atlas, [peer_path.format(t=t) for t in towns], https),
                Target(
                    "datasette",
                    datasette,
                    [
                        f"{ds}/town_{canned}.json?"
                        + q({"_shape": "objects", "_json": canned, "town": t})
                        for t in towns
                    ],
                ),
            ],
            kept=kinds,
        )

    s4 = one_town_each(
        4,
        "API town profile (balance, typology, advice)",
        "/api/v1/towns/{t}/profile/",
        "/bench-peer/towns/{t}/profile/",
        "profile",
        "profile",
    )
    s5 = one_town_each(
        5,
        "town dashboard page (HTML)",
        "/towns/{t}/",
        "/bench-peer/towns/{t}/dashboard/",
        "dashboard",
        "dashboard,indicators",
    )
    s6 = Scenario(
        6,
        f"map data: all {town_count} towns as GeoJSON",
        [
            Target("atlas", atlas, ["/api/v1/towns.geojson"], https),
            Target("pg json_agg", atlas, ["/bench-peer/towns.geojson"], https),
            Target("datasette", datasette, [f"{ds}/towns_geo.json?_shape=objects"]),
        ],
        kept="map",
    )
    write_codes = list(
        IndicatorValue.objects.filter(town__slug=sample)
        .order_by("indicator__code")
        .values_list("indicator__code", flat=True)
        .distinct()
    )
    all_scale = list(
        Town.objects.filter(slug__startswith="scale-")
        .order_by("slug")
        .values_list("slug", flat=True)
    )
    s7 = Scenario(
        7,
        "write: partner token POSTs 100 indicator values",
        [Target("atlas", atlas, ["/api/v1/indicator-values/bulk/"], writer)],
        write=["/api/v1/indicator-values/bulk/", *(all_scale or towns), "--", *write_codes],
    )
    wanted = {int(n) for n in CFG.scenarios.split(",") if n.strip()}
    return [s for s in (s1, s2, s3, s4, s5, s6, s7) if s.number in wanted]


# --- Servers ---------------------------------------------------------------------------------


def free_port(start: int, taken: set[int]) -> int:
    for port in range(start, PORTS.stop):
        if port in taken:
            continue
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    sys.exit(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def start(cmd: list[str], env: dict, log_name: str, cwd: Path = ROOT) -> subprocess.Popen:
    out = (WORK / log_name).open("w")
    # A session of its own: stopping it ends the master and its workers, nothing else.
    return subprocess.Popen(  # noqa: S603 (fixed command lines built here)
        cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_ready(
    url: str, headers: dict, proc: subprocess.Popen, name: str, seconds: int = 60
) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited at start; see {WORK}/{name}.log")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    sys.exit(f"{name} did not answer {url} within {seconds} s")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def worker_rss(master: int) -> dict[int, int]:
    """RSS in KiB of each gunicorn worker (the processes whose parent is the master)."""
    rss = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            if int(fields["PPid"]) == master and "VmRSS" in fields:
                rss[int(status.parent.name)] = int(fields["VmRSS"].split()[0])
    return rss


# --- Measuring -------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: int
    server: str
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int
    requests: int
    queries: str
    mode: str = ""  # for the atlas: warm, cold, writes, batches
    writes: dict | None = None  # writes made during the measurement: count, p50, p95, errors

    @property
    def label(self) -> str:
        return f"{self.server} ({self.mode})" if self.mode else self.server


#: The modes the peers are measured in besides idle: under the same writer as the atlas.
PEER_WRITER_MODES = ("writes", "batches")

#: The atlas's modes, as labelled in the tables.
MODE_NAMES = {
    "warm": "read cache on, warm",
    "cold": "read cache off",
    "writes": "warm + 1 write/s",
    "batches": "warm + 100-row batches back to back",
}


class Writer:
    """Research activity while the reads are measured, every ``interval`` seconds (0: back to
    back):

    * a partner POSTs ``rows`` indicator values, each request timed (the write latency of the
      report); values of years no data uses, removed afterwards (remove_written_values). They
      arrive as drafts for review, which no public or partner reader sees;
    * so a reviewer's approval is played too: ``rows`` published values are written again in
      one statement (what approving a change does to the table), one value per town, which
      retires the cached public and partner entries a real edit would (the towns' regions,
      the lists).
    """

    def __init__(
        self,
        base: str,
        headers: dict,
        towns: list[str],
        codes: list[str],
        published: list[int],
        *,
        rows: int,
        interval: float,
    ):
        self.base, self.headers, self.towns, self.codes = base, headers, towns, codes
        self.published = published
        self.rows, self.interval = rows, interval
        self.approvals = 0
        self.latencies: list[float] = []
        self.errors = 0
        self.counter = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def batch(self) -> list[dict]:
        out = []
        for _ in range(self.rows):
            k = self.counter
            self.counter += 1
            out.append(
                {
                    "town": self.towns[k % len(self.towns)],
                    "indicator": self.codes[(k // len(self.towns)) % len(self.codes)],
                    "year": BENCH_YEAR_FROM + 1 + k // (len(self.towns) * len(self.codes) * 5),
                    "quarter": (k // (len(self.towns) * len(self.codes))) % 5,
                    "value": "1.5",
                    "confidence": "medium",
                    "is_synthetic": True,
                }
            )
        return out

    def run(self) -> None:
        from django.db import connection

        try:
            self.loop()
        finally:
            connection.close()  # this thread's own connection

    def loop(self) -> None:
        while not self.stopping.is_set():
            started = time.perf_counter()
            request = urllib.request.Request(  # noqa: S310 (loopback http URL built here)
                self.base + "/api/v1/indicator-values/bulk/",
                data=json.dumps(self.batch()).encode(),
                headers={**self.headers, "Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                    response.read()
            except (OSError, http.client.HTTPException):
                self.errors += 1
            self.latencies.append((time.perf_counter() - started) * 1000)
            self.approve()
            wait = self.interval - (time.perf_counter() - started)
            if wait > 0:
                self.stopping.wait(wait)

    def approve(self) -> None:
        """Write ``rows`` published values again (their value unchanged), in one statement."""
        from django.db import connection

        if not self.published:
            return
        start = self.approvals * self.rows
        ids = [self.published[(start + i) % len(self.published)] for i in range(self.rows)]
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE towns_indicatorvalue SET value = value WHERE id = ANY(%s)", [ids]
            )
        self.approvals += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(90)

    def summary(self) -> dict:
        ordered = sorted(self.latencies)

        def pct(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

        return {
            "count": len(ordered),
            "p50": pct(0.50),
            "p95": pct(0.95),
            "errors": self.errors,
            "approvals": self.approvals,
        }


def sample(target: Target, count: int = 3) -> tuple[str, list[str]]:
    """GET a few of the target's requests: their query counts, and any non-2xx status."""
    counts, problems = [], []
    for path in target.paths[:count]:
        request = urllib.request.Request(target.base + path, headers=target.headers)  # noqa: S310 (loopback http URL built here)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                response.read()
                if "X-Bench-Queries" in response.headers:
                    counts.append(int(response.headers["X-Bench-Queries"]))
        except urllib.error.HTTPError as error:
            problems.append(f"{error.code} {path}: {error.read()[:200]!r}")
        except (OSError, http.client.HTTPException) as error:
            # A worker killed at gunicorn's timeout closes the connection without a response.
            problems.append(f"no response for {path}: {error!r}")
    if not counts:
        return ("n/a" if not problems else "-"), problems
    low, high = min(counts), max(counts)
    return (str(low) if low == high else f"{low}-{high}"), problems


def run_wrk(wrk: str, target: Target, *, seconds: int, write: list[str] | None = None) -> dict:
    WORK.mkdir(parents=True, exist_ok=True)
    paths = WORK / "paths.txt"
    paths.write_text("\n".join(target.paths) + "\n")
    headers = WORK / "headers.txt"
    headers.write_text("".join(f"{k}: {v}\n" for k, v in target.headers.items()))
    env = {
        **os.environ,
        "BENCH_PATHS": str(paths),
        "BENCH_HEADERS": str(headers),
        "BENCH_MODE": "post" if write else "get",
        "BENCH_THREADS": str(CFG.threads),
    }
    if write:
        data = WORK / "write.txt"
        data.write_text("\n".join(write) + "\n")
        env["BENCH_WRITE"] = str(data)
    cmd = [
        wrk,
        f"-t{CFG.threads}",
        f"-c{CFG.connections}",
        f"-d{seconds}s",
        f"--timeout={CFG.timeout}s",
        "--latency",
        "-s",
        str(BENCH / "wrk.lua"),
        target.base,
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (fixed command line built here)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))
    sys.exit(f"wrk gave no result:\n{done.stdout}\n{done.stderr}")


def warm_up(target: Target) -> None:
    """Request every path of ``target`` once (BENCH_WARMUP passes, BENCH_WARMUP_SECONDS cap)."""
    deadline = time.monotonic() + CFG.warmup_seconds
    done = 0
    for _ in range(CFG.warmup):
        for path in target.paths:
            if time.monotonic() > deadline:
                log(f"  warm-up of {target.server} cut at {CFG.warmup_seconds} s ({done} requests)")
                return
            request = urllib.request.Request(target.base + path, headers=target.headers)  # noqa: S310 (loopback http URL built here)
            try:
                with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                    response.read()
            except (OSError, http.client.HTTPException):
                pass  # sample() below reports failures
            done += 1


#: The keeper beside the servers (``manage.py keep_profiles``) and the command that fills the
#: kept town profiles at once (main() sets both).
KEEPER: subprocess.Popen | None = None
KEEP_ONCE: list[str] = []


def keeper_running(running: bool) -> None:
    """Let the keeper run (while the atlas is measured: its cost is the atlas's) or stop it
    (while a peer is measured, or while the kept profiles are filled at once)."""
    if KEEPER is not None and KEEPER.poll() is None:
        if running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(KEEPER.pid, signal.SIGCONT)
        else:
            stop_outside_transaction(KEEPER)


#: What the keeper's connection is doing, found by the lock it holds while it keeps
#: (``keep_profiles``'s advisory lock; the part 0 keeper's).
KEEPER_STATE_SQL = """
    SELECT a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted
        AND l.classid = (%(key)s::bigint >> 32)::oid
        AND l.objid = (%(key)s::bigint & 4294967295)::oid
        AND l.objsubid = 1
"""


def group_states(group: int) -> list[str]:
    """The state letters (``/proc/<pid>/stat``: ``T`` stopped, ``R`` running ...) of the
    processes of process group ``group``."""
    states = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:
                states.append(fields[0])
    return states


def wait_stopped(group: int, seconds: float = 5) -> None:
    """Wait until every process of ``group`` is stopped (or gone), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while any(state not in "TtZX" for state in group_states(group)):
        if time.monotonic() > deadline:
            return
        time.sleep(0.001)


def stop_outside_transaction(process: subprocess.Popen, seconds: float = 30) -> bool:
    """Stop ``process`` (``SIGSTOP`` to its group) at a moment its connection holds no
    transaction, and say whether it could within ``seconds``. Stopped inside one (a kept row
    written, not committed yet) it would hold that row's lock for as long as it is stopped:
    the filling of the kept rows at once then waited for it for good (a run hung for 12
    minutes at the profile's scenario, 2026-12-06). While the keeper is inside a transaction
    it is let go again for a moment, and stopped again. A keeper that holds no lock (it
    waits for another keeper's) holds no transaction either."""
    from django.db import connection

    from towns.management.commands.keep_profiles import LOCK

    deadline = time.monotonic() + seconds
    while True:
        try:
            os.killpg(process.pid, signal.SIGSTOP)
        except ProcessLookupError:
            return True
        # A signal takes effect a moment after it is sent: read the keeper's state only once
        # it is stopped, or it could still begin a transaction after being seen idle.
        wait_stopped(process.pid)
        with connection.cursor() as cursor:
            # pg_stat_activity is read once per transaction unless told to read it again.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(KEEPER_STATE_SQL, {"key": LOCK})
            states = [state for (state,) in cursor.fetchall()]
        if all(state == "idle" for state in states):
            return True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)
        if time.monotonic() > deadline:
            log(f"  ! the keeper is still in a transaction after {seconds:.0f} s: not stopped")
            return False
        time.sleep(0.02)


def keep_once(kind: str = "all") -> tuple[int, float]:
    """Run ``keep_profiles --once`` (every stale kept row of ``kind``, at full speed): rows
    computed, seconds taken."""
    started = time.perf_counter()
    filled = subprocess.run(  # noqa: S603 (fixed command line built here)
        [*KEEP_ONCE, f"--kind={kind}"],
        env=server_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if filled.returncode != 0:
        sys.exit(f"keep_profiles failed:\n{filled.stdout}{filled.stderr}")
    rows = sum(
        int(line.split()[2])
        for line in filled.stdout.splitlines()
        if line.startswith("kept profiles:") and "rows computed" in line
    )
    return rows, time.perf_counter() - started


def fill_kept(scenario: Scenario) -> None:
    """Before a scenario the atlas answers from kept rows: compute at full speed every row of
    that kind the earlier measurements' writes (and their removal) left stale, as a keeper
    that has caught up would have them. Not measured; logged. The other kinds are left to the
    keeper, which works beside the servers while the atlas is measured (its cost is the
    atlas's)."""
    if not KEEP_ONCE or scenario.kept is None:
        return
    keeper_running(False)
    rows, seconds = keep_once(scenario.kept)
    log(f"  kept {scenario.kept}: {rows} rows computed again in {seconds:.0f} s")
    keeper_running(True)


def settle_keeper(scenario: Scenario, seconds: int = 60) -> None:
    """Wait, up to ``seconds``, until the keeper has caught up with the last writes in the
    kind of kept rows ``scenario`` reads."""
    from django.db import connection

    from towns import kept

    if scenario.kept is None:
        return
    names = scenario.kept.split(",")
    kinds = [kind for kind in kept.KINDS if kind.name in names]

    def behind(limit: int | None = None) -> int:
        if "map" in names and not kept.map_current():
            return 1
        return len(kept.stale(limit=limit, kinds=kinds)) if kinds else 0

    started = time.monotonic()
    while behind(1) and time.monotonic() - started < seconds:
        time.sleep(1)
    waited = time.monotonic() - started
    if waited >= 2:
        left = behind()
        log(f"  waited {waited:.0f} s for the keeper" + (f" ({left} rows left)" if left else ""))
    connection.close()


def measure(
    wrk: str, scenario: Scenario, target: Target, *, mode: str = "", writer: Writer | None = None
) -> Result:
    # The keeper works while the atlas is measured (its cost is the atlas's), never while a
    # peer is.
    keeper_running(target.server == "atlas")
    if target.server == "atlas" and writer is None:
        # Under a writer the keeper is behind by design (readers compute what the writes make
        # stale); before a read-only measurement it has caught up.
        settle_keeper(scenario)
    if not scenario.write and CFG.warmup:
        warm_up(target)
    if scenario.write:
        # One batch posted outside the timed run for its query count, then removed.
        queries, problems = write_queries(target), []
        remove_written_values()
    else:
        queries, problems = sample(target)
    for problem in problems:
        log(f"  ! scenario {scenario.number} {target.server}: {problem}")
    if writer is not None:
        with writer:
            raw = run_wrk(wrk, target, seconds=CFG.seconds, write=scenario.write)
    else:
        raw = run_wrk(wrk, target, seconds=CFG.seconds, write=scenario.write)
    seconds = raw["duration_us"] / 1e6
    errors = raw["status"] + raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    stuck = raw["timeout"] or raw["requests"] < CFG.connections
    if stuck and target.server != "datasette":
        # Requests the client gave up on still hold the sync workers until gunicorn's own
        # timeout kills them: let them drain so that the next measurement starts clean.
        settle = int(os.environ.get("GUNICORN_TIMEOUT", "30")) + 5
        log(f"  requests left unanswered; waiting {settle} s for the workers to drain")
        time.sleep(settle)
    result = Result(
        scenario.number,
        target.server,
        raw["requests"] / seconds if seconds else 0.0,
        raw["p50"] / 1000,
        raw["p95"] / 1000,
        raw["p99"] / 1000,
        errors,
        raw["requests"],
        queries,
        mode,
        writer.summary() if writer is not None else None,
    )
    extra = ""
    if result.writes:
        w = result.writes
        extra = (
            f"  writes {w['count']} p50 {w['p50']:.0f} p95 {w['p95']:.0f} ms "
            f"err {w['errors']} approvals {w['approvals']}"
        )
    log(
        f"  {scenario.number} {result.label:24} {result.rps:8.1f} req/s  p50 {result.p50:7.1f}  "
        f"p95 {result.p95:7.1f}  p99 {result.p99:7.1f} ms  errors {errors}/{raw['requests']}  "
        f"queries {queries}{extra}"
    )
    return result


def write_queries(target: Target) -> str:
    """Queries of one more batch of 100 (posted outside the timed run, then removed)."""
    from towns.models import Town

    towns = list(Town.objects.filter(slug__startswith="scale-").values_list("slug", flat=True)[:1])
    if not towns:
        return "n/a"
    from towns.models import IndicatorValue

    code = IndicatorValue.objects.filter(town__slug=towns[0]).values_list(
        "indicator__code", flat=True
    )[0]
    rows = [
        {
            "town": towns[0],
            "indicator": code,
            "year": BENCH_YEAR_FROM + k // 4,
            "quarter": 1 + k % 4,
            "value": "1.5",
            "confidence": "medium",
            "is_synthetic": True,
        }
        for k in range(100)
    ]
    request = urllib.request.Request(  # noqa: S310 (loopback http URL built here)
        target.base + target.paths[0],
        data=json.dumps(rows).encode(),
        headers={**target.headers, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.headers.get("X-Bench-Queries", "n/a")
    except urllib.error.HTTPError as error:
        log(f"  ! write sample: {error.code} {error.read()[:300]!r}")
        return "-"


# --- Report ----------------------------------------------------------------------------------


#: The latency targets of issue 19 (scale data, 2 cores, read cache off), by scenario number.
COLD_P95_TARGETS = {5: 150.0, 6: 100.0}
WRITE_P95_TARGET = 500.0


def targets(results: list[Result], scenarios: list[Scenario]) -> list[str]:
    """Each latency target, met or not, with the figure."""
    out = ["Targets (issue 19):", ""]
    for r in results:
        if r.server == "atlas" and r.mode == "cold" and r.scenario in COLD_P95_TARGETS:
            goal = COLD_P95_TARGETS[r.scenario]
            verdict = "met" if r.p95 < goal else "NOT met"
            out.append(
                f"- scenario {r.scenario}, read cache off: p95 {r.p95:.0f} ms "
                f"(target < {goal:.0f} ms): {verdict}"
            )
    for r in results:
        if r.server == "atlas" and r.writes and r.writes["count"]:
            verdict = "met" if r.writes["p95"] < WRITE_P95_TARGET else "NOT met"
            out.append(
                f"- writes during scenario {r.scenario} ({r.mode}): p95 {r.writes['p95']:.0f} ms "
                f"over {r.writes['count']} writes (target < {WRITE_P95_TARGET:.0f} ms): {verdict}"
            )
    return out


def ratio_rows(
    by_key: dict, scenarios: list[Scenario], modes: list[str], *, like_for_like: bool
) -> tuple[list[str], list[tuple[float, str]]]:
    """One table row per read scenario: the atlas's throughput in each of ``modes`` over each
    peer's, measured with no writer or, ``like_for_like``, in the same mode; with the ratios."""
    rows, ratios = [], []
    for sc in scenarios:
        if sc.write:
            continue
        cells = []
        for mode in modes:
            atlas = by_key.get((sc.number, "atlas", mode))
            parts = []
            for peer in ("pg json_agg", "datasette"):
                other = by_key.get((sc.number, peer, mode if like_for_like else ""))
                if atlas and other and other.rps:
                    ratio = atlas.rps / other.rps
                    ratios.append((ratio, f"{sc.number} {mode} vs {peer}"))
                    parts.append(f"{ratio:.2f}×")
                else:
                    parts.append("n/a")
            cells.append(" / ".join(parts))
        rows.append(f"| {sc.number}. {sc.name} | " + " | ".join(cells) + " |")
    return rows, ratios


def render(
    results: list[Result], scenarios: list[Scenario], facts: dict, memory: list[str]
) -> tuple[str, float | None]:
    names = {s.number: s.name for s in scenarios}
    lines = [
        "# Benchmark results (bench/run.py)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores. "
        f"Data: {facts['towns']:,} towns, {facts['indicator values']:,} indicator values, "
        f"{facts['CSOs']:,} CSOs (scale set {CFG.towns} × {CFG.indicators} × {CFG.years}, "
        f"{CFG.csos} CSOs). wrk {CFG.threads} threads, {CFG.connections} connections, "
        f"{CFG.seconds} s per server and scenario; gunicorn {CFG.workers} workers "
        f"(atlas and Datasette alike), sync, {os.environ.get('GUNICORN_THREADS', '1')} "
        "thread(s) each"
        + (
            f"; during the writer modes the writes go to a separate pool of {CFG.write_workers} "
            "worker(s), as docs/deploy.md's proxy routes them. "
            if CFG.write_workers
            else "; the writes go to the same workers as the reads. "
        )
        + (
            f"Before each read measurement, {CFG.warmup} warm-up pass(es) over that scenario's "
            "requests for every server (the atlas's read cache, PostgreSQL's and SQLite's "
            "caches). Queries/req are sampled after the warm-up, so a cached answer shows 1-3."
            if CFG.warmup
            else "No warm-up (BENCH_WARMUP=0): every server measured cold."
        )
        + (
            f" Kept town profiles and dashboards (towns/kept.py, data derived once per change, "
            f"not a cache: on in every mode, including *cache off*): {facts['kept'][0]:,} rows "
            f"computed before the measurements in {facts['kept'][1]:.0f} s; a keeper "
            "(`manage.py keep_profiles`) ran beside the servers while the atlas was measured "
            "(stopped while a peer was), and before the scenarios of the profile and of the "
            "dashboard the bench computed the rows of that kind the earlier writes had left "
            "stale at once, outside the measurements, as a keeper that has caught up would have "
            "them (under the writer modes readers compute what the writes make stale). In "
            "every mode the JSON town lists and series are written by PostgreSQL "
            "(governance/api/rendered.py, towns/api/profile.py: series_rendered)."
            if "kept" in facts
            else ""
        ),
        "",
        "| scenario | server | req/s | p50 ms | p95 ms | p99 ms | errors | queries/req "
        "| writes meanwhile: n, p50 / p95 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        w = r.writes
        lines.append(
            f"| {r.scenario}. {names[r.scenario]} | {r.label} | {r.rps:.1f} | {r.p50:.1f} | "
            f"{r.p95:.1f} | {r.p99:.1f} | "
            + (f"{r.errors} / {r.requests}" if r.requests else "none answered in time")
            + f" | {r.queries} | "
            + (f"{w['count']}, {w['p50']:.0f} / {w['p95']:.0f}" if w else "")
            + (f" ({w['errors']} failed)" if w and w["errors"] else "")
            + " |"
        )
    modes = [m for m in CFG.modes.split(",") if m in MODE_NAMES]
    lines += [
        "",
        "Throughput of the atlas as a ratio to each peer (read scenarios; *vs json_agg / vs "
        "Datasette*), per way the atlas was measured:",
        "",
        "| scenario | " + " | ".join(MODE_NAMES[m] for m in modes) + " |",
        "| --- |" + " ---: |" * len(modes),
    ]
    by_key = {(r.scenario, r.server, r.mode): r for r in results}
    rows, ratios = ratio_rows(by_key, scenarios, modes, like_for_like=False)
    lines += rows
    like = [m for m in modes if m in PEER_WRITER_MODES]
    if like:
        lines += [
            "",
            "The same writer modes against the peers measured under the same writer (like for "
            "like: the write pool and PostgreSQL take their share of the two cores whichever "
            "server is read; the json_agg peer reads the rows being written, Datasette's "
            "mirror does not change, so it pays the writer's CPU only). For information: the "
            "table above (against the peers with no writer) is the one the last line takes.",
            "",
            "| scenario | " + " | ".join(MODE_NAMES[m] for m in like) + " |",
            "| --- |" + " ---: |" * len(like),
            *ratio_rows(by_key, scenarios, like, like_for_like=True)[0],
        ]
    lines += ["", *targets(results, scenarios)]
    lines += ["", *memory]
    lowest = min(ratios)[0] if ratios else None
    below = sorted(r for r in ratios if r[0] < 1.0)
    lines += [
        "",
        "Below 1.0×: "
        + (", ".join(f"{name} {ratio:.2f}×" for ratio, name in below) or "none")
        + ".",
        *shortfall_reasons(below),
    ]
    lines += [
        "",
        "Peers: *pg json_agg* is bench/peers.py (one SQL query renders the JSON in PostgreSQL; "
        "a plain Django view returns it, through the same middleware). *datasette* serves "
        "var/bench/mirror.db (bench/mirror.py: the public rows only) with the canned queries "
        "of bench/datasette-metadata.json. Errors are non-2xx/3xx responses plus socket "
        "errors and time-outs; queries/req is sampled from the X-Bench-Queries header "
        "(Datasette's SQLite queries are not counted).",
        "",
        f"lowest read ratio vs peers: {lowest:.2f}"
        if lowest is not None
        else "lowest read ratio vs peers: n/a",
    ]
    return "\n".join(lines) + "\n", lowest


#: Why a mode's reads fall below a peer, as far as profiling has shown (docs/scaling.md, "What
#: is not done"): printed under the ratios for each mode that has one below 1.0×.
WHY_BELOW = {
    "cold": (
        "with the read cache off every request pays the framework's own cost (the middleware, "
        "DRF's dispatch, the token and the rate counter, the filters' form, the ORM compiling "
        "the query), where a peer runs one SQL query; the profile, dashboard and map are kept "
        "per change and the lists, search and series are written by PostgreSQL, so what is "
        "left is that per-request cost (docs/scaling.md, items 12, 15 and 16)"
    ),
    "warm": (
        "a cache hit is answered before the view, but still runs two statements: the data's "
        "fingerprint (the key) and the rate counter's write (limits are per token or address "
        "and count every request, hits included). Measured in-process at the scale data on "
        "2026-12-06: 0.13 ms and 0.16 ms (0.26 ms before the count became one SQL function), "
        "with their round trips, of an anonymous profile's 0.8 ms hit and a partner search's "
        "1.1-1.25 ms (its token is resolved from the cache as well). Datasette has no rate "
        "limit and no token, and its warm figures moved by a third between runs"
    ),
    "batches": (
        "the writer's requests and PostgreSQL's work on them take their share of the two "
        "cores while the peers in this column are idle (the like-for-like table compares "
        "them under the same writer); and each 100-row batch of values reaches 100 towns in "
        "every region, so their series, every dashboard's indicators' section and the "
        "profiles of the towns whose criteria's values it holds are out of date after each "
        "batch and computed again on the next read: a section ranks the town's latest values "
        "in its region and draws the region's median of every year in its charts, so a batch "
        "of edited values changes what every section of the region shows (the benchmark's "
        "approvals write their values again unchanged, which a count of writes cannot tell "
        "from an edit; a version per group of values could, not built)"
    ),
}


#: At 1 write/s the reads are cache hits but for the few entries each write retires.
WHY_BELOW["writes"] = WHY_BELOW["warm"]


def shortfall_reasons(below: list[tuple[float, str]]) -> list[str]:
    """One line per mode with a ratio below 1.0×: which scenarios, and why (WHY_BELOW)."""
    by_mode: dict[str, list[str]] = {}
    for _ratio, name in below:
        number, mode = name.split()[:2]
        by_mode.setdefault(mode, [])
        if number not in by_mode[mode]:
            by_mode[mode].append(number)
    return [
        f"- {mode} (scenarios {', '.join(sorted(numbers))}): "
        + WHY_BELOW.get(mode, "not explained yet: profile it before trusting the figures")
        + "."
        for mode, numbers in by_mode.items()
    ]


# --- Main ------------------------------------------------------------------------------------


def main() -> int:
    # A SIGTERM (timeout, CI) still stops the servers and removes the written rows.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    WORK.mkdir(parents=True, exist_ok=True)
    wrk = ensure_wrk()
    setup_django()
    facts = ensure_data()
    log(f"data: {facts}")
    log("collecting static files")
    call("collectstatic", "--no-input", verbosity=0)
    tokens = partner_tokens()
    from django.db import connection

    from governance.cache import clear as clear_read_cache

    clear_read_cache()  # this run's answers only (READ_CACHE_URL of server_env)
    from bench import mirror

    mirror_path = WORK / "mirror.db"
    start_export = time.perf_counter()
    exported = mirror.ensure(mirror_path)
    if exported is None:
        log("reusing the SQLite mirror (fingerprint unchanged)")
    else:
        log(f"exported the mirror in {time.perf_counter() - start_export:.0f} s: {exported}")
    venv = ensure_datasette_venv()
    connection.close()
    # The kept town profiles (towns/kept.py) are data derived once per change, as a deployment
    # keeps them with `manage.py keep_profiles`: filled before the measurements (only the rows
    # whose state moved since the last run, all of them after a change of the code), and kept
    # current during them by a keeper beside the servers, as in docs/deploy.md.
    global KEEPER
    log("filling the kept town profiles (manage.py keep_profiles --once)")
    manage = [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "manage.py"), "keep_profiles"]
    KEEP_ONCE[:] = [*manage, "--once", f"--jobs={CFG.workers}"]
    rows, seconds = keep_once()
    facts["kept"] = (rows, seconds)
    log(f"kept profiles: {rows} rows computed in {facts['kept'][1]:.0f} s")

    taken: set[int] = set()
    atlas_port = free_port(CFG.port, taken)
    taken.add(atlas_port)
    cold_port = free_port(atlas_port + 1, taken)
    taken.add(cold_port)
    ds_port = free_port(cold_port + 1, taken)
    taken.add(ds_port)
    write_port = free_port(ds_port + 1, taken)
    env = server_env()
    env.update(BIND=f"127.0.0.1:{atlas_port}", WEB_CONCURRENCY=str(CFG.workers))
    atlas_base, ds_base = f"http://127.0.0.1:{atlas_port}", f"http://127.0.0.1:{ds_port}"
    cold_base = f"http://127.0.0.1:{cold_port}"
    write_base = f"http://127.0.0.1:{write_port}" if CFG.write_workers else atlas_base
    atlas = datasette = cold = write_pool = keeper = None
    modes = [m for m in CFG.modes.split(",") if m in MODE_NAMES] or ["warm"]
    # Every atlas server (warm, cold, write pool) is the production one.
    gunicorn = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "governance.wsgi",
        "-c",
        "governance/gunicorn.conf.py",
    ]
    try:
        log(f"starting the atlas (gunicorn, {CFG.workers} workers) on {atlas_base}")
        atlas = start(
            gunicorn,
            env,
            "atlas.log",
        )
        keeper = KEEPER = start(manage, env, "keeper.log")
        if "cold" in modes:
            log(f"starting the atlas with the read cache off on {cold_base}")
            cold = start(
                gunicorn,
                {**env, "BIND": f"127.0.0.1:{cold_port}", "READ_CACHE_TIMEOUT": "0"},
                "atlas-cold.log",
            )
        if CFG.write_workers and {"writes", "batches"} & set(modes):
            # What docs/deploy.md's proxy does: every request but GET/HEAD/OPTIONS goes to a
            # pool of its own, so that a write never waits behind the reads in a queue.
            log(f"starting the write pool ({CFG.write_workers} worker) on {write_base}")
            write_pool = start(
                gunicorn,
                {
                    **env,
                    "BIND": f"127.0.0.1:{write_port}",
                    "WEB_CONCURRENCY": str(CFG.write_workers),
                },
                "atlas-writes.log",
            )
        log(f"starting Datasette (gunicorn + uvicorn, {CFG.workers} workers) on {ds_base}")
        ds_env = {
            "PATH": os.environ.get("PATH", ""),
            "BENCH_MIRROR": str(mirror_path),
            "PYTHONPATH": str(BENCH),
        }
        datasette = start(
            [
                str(venv / "bin" / "gunicorn"),
                "datasette_app:app",
                "-k",
                "uvicorn.workers.UvicornWorker",
                "-w",
                str(CFG.workers),
                "-b",
                f"127.0.0.1:{ds_port}",
                "--log-level",
                "warning",
            ],
            ds_env,
            "datasette.log",
            cwd=BENCH,
        )
        wait_ready(atlas_base + "/healthz", {"X-Forwarded-Proto": "https"}, atlas, "atlas")
        wait_ready(ds_base + "/-/versions.json", {}, datasette, "datasette")
        if cold is not None:
            wait_ready(cold_base + "/healthz", {"X-Forwarded-Proto": "https"}, cold, "atlas-cold")
        if write_pool is not None:
            proto = {"X-Forwarded-Proto": "https"}
            wait_ready(write_base + "/healthz", proto, write_pool, "writes")
        env_fresh = worker_rss(atlas.pid)
        scenarios = build_scenarios(atlas_base, ds_base, tokens)
        writer = writer_setup(write_base, tokens)
        results = []
        done: list[Scenario] = []
        for scenario in scenarios:
            log(f"scenario {scenario.number}: {scenario.name}")
            for target in scenario.targets:
                if target.server != "atlas" or scenario.write:
                    results.append(measure(wrk, scenario, target))
                    if not scenario.write:
                        # The peers under the same writer too: it shares the machine's cores
                        # (the write pool, PostgreSQL) with whichever server is measured.
                        for mode in [m for m in modes if m in PEER_WRITER_MODES]:
                            results.append(
                                measure_mode(wrk, scenario, target, mode, cold_base, writer)
                            )
                            remove_written_values()
                    continue
                fill_kept(scenario)
                for mode in modes:
                    results.append(measure_mode(wrk, scenario, target, mode, cold_base, writer))
                    remove_written_values()
            if scenario.write:
                remove_written_values()
            done.append(scenario)
            # The table so far: a run cut short still leaves what it measured.
            RESULTS.write_text(render(results, done, facts, ["(memory not measured yet)"])[0])
        memory = measure_memory(wrk, atlas, scenarios, env_fresh, results)
    finally:
        stop(atlas)
        stop(cold)
        stop(write_pool)
        keeper_running(True)  # a stopped process does not act on SIGTERM
        stop(keeper)
        stop(datasette)
        with contextlib.suppress(Exception):
            remove_written_values()
    text, lowest = render(results, scenarios, facts, memory)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text.rstrip("\n").rsplit("\n", 1)[0])
    print(f"(written to {RESULTS.relative_to(ROOT)})")
    print(
        f"lowest read ratio vs peers: {lowest:.2f}"
        if lowest is not None
        else "lowest read ratio vs peers: n/a"
    )
    return 0


def writer_setup(base: str, tokens: dict[str, str]) -> dict:
    """What a Writer needs: the atlas, the writer token, the scale towns and indicator codes."""
    from towns.models import IndicatorValue, Town

    towns = list(
        Town.objects.filter(slug__startswith="scale-")
        .order_by("slug")
        .values_list("slug", flat=True)
    ) or list(Town.objects.order_by("slug").values_list("slug", flat=True))
    codes = list(
        IndicatorValue.objects.filter(town__slug=towns[0])
        .order_by("indicator__code")
        .values_list("indicator__code", flat=True)
        .distinct()
    )
    headers = {
        "X-Forwarded-Proto": "https",
        "Authorization": f"Token {tokens['write:indicators']}",
    }
    # One published value per town, towns in slug order (their regions drawn at random): each
    # approval is in another town, so the writer does not favour the read cache's scoping by
    # region (a 100-row approval touches 100 towns, i.e. every region). The n-th town's value
    # is of the n-th indicator (in turn): approvals touch every indicator alike, the
    # criteria's that the profiles read (3 of 60 at the scale data) as often as any other.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH t AS (
                SELECT id, row_number() OVER (ORDER BY slug) - 1 AS n
                FROM towns_town WHERE slug = ANY(%s)
            )
            SELECT DISTINCT ON (t.n) v.id
            FROM t
            JOIN towns_indicatorvalue v ON v.town_id = t.id AND v.state = 'published'
            JOIN towns_indicator i ON i.id = v.indicator_id
                AND i.code = (%s::text[])[t.n %% cardinality(%s::text[]) + 1]
            ORDER BY t.n, v.year, v.quarter
            """,
            [towns[:1000], codes, codes],
        )
        published = [row[0] for row in cursor.fetchall()]
    return {
        "base": base,
        "headers": headers,
        "towns": towns,
        "codes": codes,
        "published": published,
    }


def measure_mode(
    wrk: str, scenario: Scenario, target: Target, mode: str, cold_base: str, writer: dict
) -> Result:
    """The atlas on one read scenario in one mode (MODE_NAMES)."""
    if mode == "cold":
        return measure(
            wrk,
            scenario,
            Target(target.server, cold_base, target.paths, target.headers),
            mode=mode,
        )
    if mode in ("writes", "batches"):
        rows, interval = (1, 1.0) if mode == "writes" else (100, 0.0)
        return measure(
            wrk, scenario, target, mode=mode, writer=Writer(**writer, rows=rows, interval=interval)
        )
    return measure(wrk, scenario, target, mode=mode)


def measure_memory(
    wrk: str,
    atlas: subprocess.Popen,
    scenarios: list[Scenario],
    fresh: dict[int, int],
    results: list[Result],
) -> list[str]:
    """RSS of each worker before and after BENCH_MEMORY_REQUESTS requests mixing the reads.

    A scenario whose requests mostly failed (e.g. killed at gunicorn's timeout) is left out:
    its killed workers would be replaced and their memory could not be compared.
    """
    if not CFG.memory_requests:
        return []
    mix = Target("atlas", "", [], {})
    failing = {
        r.scenario
        for r in results
        if r.server == "atlas" and (not r.requests or r.errors * 2 > r.requests)
    }
    for scenario in scenarios:
        if scenario.write or scenario.number in failing:
            continue
        target = scenario.targets[0]
        mix.base = target.base
        # The partner's token on every request would change the mix; the anonymous reads.
        mix.paths += target.paths[:40]
        mix.headers = {"X-Forwarded-Proto": "https"}
    if not mix.paths:
        return []
    if CFG.warmup:
        # The write scenario moved the data state, so every entry is cold again. One pass
        # over the mix (each answer built once) and one 5 s round of it first: "before" is
        # then the steady state, each worker's in-memory copy of the read cache (bounded by
        # READ_CACHE_LOCAL_MB) filled, and the change measures what requests leave behind.
        log("memory: warm-up (one pass over the mix, then a 5 s round)")
        warm_up(mix)
        run_wrk(wrk, mix, seconds=5)
    before = worker_rss(atlas.pid)
    log(
        f"memory: {CFG.memory_requests} mixed read requests "
        f"(at most {CFG.memory_seconds} s; BENCH_MEMORY_SECONDS)"
    )
    # wrk stops on time only: run it in short rounds until the count (or the time cap) is met.
    total = {"requests": 0, "status": 0}
    deadline = time.monotonic() + CFG.memory_seconds
    while total["requests"] < CFG.memory_requests and time.monotonic() < deadline:
        raw = run_wrk(wrk, mix, seconds=5)
        total["requests"] += raw["requests"]
        total["status"] += raw["status"] + raw["timeout"] + raw["read"] + raw["connect"]
    raw = total
    after = worker_rss(atlas.pid)
    lines = [
        f"Worker memory (RSS) over {raw['requests']:,} mixed read requests "
        f"({raw['status']} errors; target {CFG.memory_requests:,}; scenarios left out as "
        f"failing: {', '.join(map(str, sorted(failing))) or 'none'}; "
        f"{'after a warm-up pass and a 5 s round of the mix' if CFG.warmup else 'no warm-up'}):",
        "",
        "| worker pid | at start | before | after | change |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for pid in sorted(set(before) | set(after)):
        b, a, f = before.get(pid), after.get(pid), fresh.get(pid)
        change = f"{(a - b) / 1024:+.1f} MiB" if a is not None and b is not None else "replaced"
        cell = lambda v: f"{v / 1024:.1f} MiB" if v is not None else "-"  # noqa: E731
        lines.append(f"| {pid} | {cell(f)} | {cell(b)} | {cell(a)} | {change} |")
        log(f"  worker {pid}: start {cell(f)}, before {cell(b)}, after {cell(a)} ({change})")
    return lines


if __name__ == "__main__":
    sys.exit(main())
