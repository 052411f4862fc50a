"""Ansible inventories (INI and YAML) as host targets, and a run that uses one."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pytest_golive.core.config import ConfigError, load_environment
from pytest_golive.core.inventory import InventoryError, read_inventory

INI = """\
# the fleet
bastion ansible_host=10.201.0.5

[web]
web[01:03].example.com ansible_user=deploy
db1:2222 ansible_user="ops"   # also a web host

[db]
db1 backup=true

[prod:children]
web
db

[prod:vars]
ansible_user=produser
ansible_ssh_private_key_file=keys/prod
team = platform
"""

YAML = """\
all:
  vars:
    ansible_user: base
  hosts:
    bastion:
      ansible_host: 10.201.0.5
  children:
    prod:
      vars:
        ansible_port: 2200
      children:
        web:
          hosts:
            web[1:2]:
              ansible_user: deploy
        db:
          hosts:
            db1:
              ansible_connection: local
            db2:
              ansible_ssh_host: 10.201.0.9
              ansible_become: yes
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def by_name(path: Path) -> dict[str, object]:
    return {t.name: t for t in read_inventory(path)}


def test_ini_groups_children_ranges_and_vars(tmp_path: Path) -> None:
    hosts = by_name(write(tmp_path, "hosts.ini", INI))
    assert list(hosts) == [
        "bastion",
        "web01.example.com",
        "web02.example.com",
        "web03.example.com",
        "db1",
    ]
    assert hosts["bastion"].groups == ()
    assert hosts["bastion"].options["url"] == "ssh://10.201.0.5"
    web = hosts["web02.example.com"]
    assert web.kind == "host"
    assert set(web.groups) == {"web", "prod"}
    # the host's own ansible_user wins over the [prod:vars] one
    assert web.options["url"] == "ssh://deploy@web02.example.com"
    assert web.options["ssh_identity_file"] == str(tmp_path / "keys" / "prod")
    assert web.options["vars"] == {"team": "platform"}
    db = hosts["db1"]
    assert set(db.groups) == {"web", "db", "prod"}
    assert db.options["url"] == "ssh://ops@db1:2222"
    assert (
        db.options["vars"]["backup"] == "true"
    )  # INI values are strings unless Python literals, as in Ansible


def test_yaml_groups_children_and_vars(tmp_path: Path) -> None:
    hosts = by_name(write(tmp_path, "hosts.yml", YAML))
    assert hosts["bastion"].options["url"] == "ssh://base@10.201.0.5"
    assert set(hosts["web1"].groups) == {"prod", "web"}
    assert hosts["web2"].options["url"] == "ssh://deploy@web2:2200"
    assert hosts["db1"].options["url"] == "local://"
    assert hosts["db2"].options["url"] == "ssh://base@10.201.0.9:2200"
    assert hosts["db2"].options["sudo"] is True
    assert "sudo" not in hosts["web1"].options


def test_yaml_is_recognised_without_a_suffix(tmp_path: Path) -> None:
    hosts = by_name(write(tmp_path, "inventory", YAML))
    assert "web1" in hosts


def test_group_vars_and_host_vars_directories(tmp_path: Path) -> None:
    inv = write(tmp_path, "hosts.ini", "[web]\nweb1\nweb2 ansible_user=inline\n")
    write(tmp_path, "group_vars/all.yml", "ansible_user: everyone\n")
    write(tmp_path, "group_vars/web/conn.yml", "ansible_port: 2022\n")
    write(tmp_path, "host_vars/web1.yml", "ansible_host: 10.201.0.7\n")
    hosts = by_name(inv)
    assert hosts["web1"].options["url"] == "ssh://everyone@10.201.0.7:2022"
    assert hosts["web2"].options["url"] == "ssh://inline@web2:2022"


def test_inner_group_vars_win_over_outer(tmp_path: Path) -> None:
    inv = write(tmp_path, "hosts.ini", """\
        [all:vars]
        ansible_user=outer
        [eu:children]
        eu_web
        [eu:vars]
        ansible_user=middle
        [eu_web]
        w1
        [eu_web:vars]
        ansible_user=inner
        [other]
        o1
    """)
    hosts = by_name(inv)
    assert hosts["w1"].options["url"] == "ssh://inner@w1"
    assert hosts["o1"].options["url"] == "ssh://outer@o1"


def test_secret_looking_vars_are_not_kept(tmp_path: Path) -> None:
    hosts = by_name(write(tmp_path, "hosts.ini", "h1 ansible_password=hunter2 role=api\n"))
    assert hosts["h1"].options["vars"] == {"role": "api"}
    assert "hunter2" not in repr(hosts["h1"])


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.ini", "[web\nh1\n", "bad.ini:1: malformed section header"),
        ("bad.ini", "[web:nodes]\nh1\n", "bad.ini:1: unknown section kind ':nodes'"),
        ("bad.ini", "[web]\nh1 ansible_user\n", "bad.ini:2: host 'h1': expected key=value"),
        ("bad.ini", "[web]\nh[1:x]\n", "bad.ini:2: malformed host range"),
        ("bad.ini", "[web:vars]\njust words\n", "bad.ini:2: [web:vars] lines are key=value"),
        (
            "bad.ini",
            "[web]\nh1 ansible_port=ssh\n",
            "bad.ini:2: host 'h1': ansible_port 'ssh' is not a number",
        ),
        ("bad.ini", "[a:children]\nb\n[b:children]\na\n[b]\nh1\n", "contains itself"),
        (
            "bad.ini",
            'h1 ansible_host=\'{{ lookup("env", "X") }}\'\n',
            "bad.ini:1: host 'h1': ansible_host is a template",
        ),
        (
            "bad.yml",
            "all:\n  hosts:\n    - h1\n",
            "bad.yml:3: hosts of group 'all' must be a mapping",
        ),
        ("bad.yml", "all:\n  hostz:\n    h1:\n", "bad.yml:2: group 'all': unknown key 'hostz'"),
        ("bad.yml", "all:\n  hosts:\n    h1: {ansible_user: [\n", "bad.yml:4: not valid YAML"),
        ("bad.yml", "- all\n", "bad.yml:1: an inventory is a mapping of group names"),
        (
            "bad.yml",
            "all:\n  hosts:\n    h1:\n      ansible_user: !vault |\n        "
            "$ANSIBLE_VAULT;1.1;AES256\n",
            "bad.yml:3: host 'h1': ansible_user is vault-encrypted",
        ),
    ],
)
def test_mistakes_are_one_line_with_file_and_line(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(InventoryError) as info:
        read_inventory(path)
    message = str(info.value)
    assert "\n" not in message
    assert expected in message
    assert str(tmp_path) in message


def test_missing_file_and_scripts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="inventory file not found"):
        read_inventory(tmp_path / "nope.ini")
    script = write(tmp_path, "dyn", "#!/usr/bin/env python3\nprint('{}')\n")
    with pytest.raises(InventoryError, match="dynamic inventory scripts are not supported"):
        read_inventory(script)


def test_environment_inventory_error_names_the_config_key(tmp_path: Path) -> None:
    write(tmp_path, "hosts.ini", "[web\n")
    write(tmp_path, "golive.toml", '[environments.prod]\ninventory = "hosts.ini"\n')
    with pytest.raises(ConfigError) as info:
        load_environment(tmp_path, "prod")
    assert "environments.prod.inventory" in str(info.value)
    assert "hosts.ini:1: malformed section header" in str(info.value)


def test_environment_hosts_come_from_the_inventory(tmp_path: Path) -> None:
    write(tmp_path, "hosts.ini", INI)
    write(tmp_path, "golive.toml", '[environments.prod]\ninventory = "hosts.ini"\n')
    env = load_environment(tmp_path, "prod")
    assert [t.name for t in env.select("host", "db")] == ["db1"]
    assert len(env.select("host", "prod")) == 4


CHECKLIST = """\
# Readiness

## Infrastructure
- [ ] Local app hosts have a shell <!-- golive: file path=/bin/sh on=app -->
- [ ] Local app hosts have no such file <!-- golive: file path=/no/such/file/golive on=app severity=warning -->
"""  # noqa: E501 - checklist lines, verbatim


def test_a_run_with_an_inventory_applies_lines_to_a_group(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".ini",
        hosts="[app]\nlocal-a ansible_connection=local\nlocal-b ansible_connection=local\n"
        "[other]\nelsewhere ansible_connection=local\n",
    )
    pytester.makefile(
        ".toml",
        golive='checklists = ["checklist.md"]\n[environments.prod]\ninventory = "hosts.ini"\n',
    )
    pytester.makefile(".md", checklist=CHECKLIST)
    report = pytester.path / "out.json"
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--golive=prod", f"--golive-json={report}"
    )
    data = json.loads(report.read_text())
    statuses = {(r["id"].split("/")[-1], r["target"]): r["status"] for r in data["results"]}
    assert statuses == {
        ("local-app-hosts-have-a-shell", "local-a"): "passed",
        ("local-app-hosts-have-a-shell", "local-b"): "passed",
        ("local-app-hosts-have-no-such-file", "local-a"): "failed",
        ("local-app-hosts-have-no-such-file", "local-b"): "failed",
    }
    assert result.ret == 0  # the failing lines are warnings
