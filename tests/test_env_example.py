"""Every environment variable the settings or gunicorn read is listed in .env.example."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A name passed to one of the settings' readers or to os.environ.get.
READ = re.compile(
    r"(?:_int|_typed|_bool|_float|env\.[a-z_]+|environ\.get|getenv)\(\s*\"([A-Z][A-Z0-9_]+)\""
)


def test_env_example_lists_every_variable():
    read = set()
    for name in ("governance/settings.py", "governance/gunicorn.conf.py"):
        read |= set(READ.findall((ROOT / name).read_text()))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert len(read) > 40  # the pattern still finds the settings' variables
    assert sorted(read - listed) == []
